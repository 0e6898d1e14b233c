"""The in-app inbox (placeholder until the notifications work lands)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def inbox(request):
    return HttpResponse("inbox")

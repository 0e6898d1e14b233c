"""URLs: the run analysis, the promoter's statements and the reports (names under
"incentives")."""

from django.urls import path

from prm.incentives import views_reports

urlpatterns = [
    path(
        "settlement/runs/<str:number>/analysis/",
        views_reports.run_analysis_page,
        name="run_analysis",
    ),
    path(
        "settlement/runs/<str:number>/analysis/records/",
        views_reports.run_records,
        name="run_records",
    ),
    path(
        "settlement/runs/<str:number>/analysis/records/<int:record_id>/",
        views_reports.run_record,
        name="run_record",
    ),
    path("my/statements/", views_reports.my_statement_list, name="my_statements"),
    path("my/statements/<str:number>/", views_reports.my_statement_detail, name="my_statement"),
    path(
        "my/statements/<str:number>/records/<int:record_id>/",
        views_reports.my_record,
        name="my_record",
    ),
    path("reports/", views_reports.reports, name="reports"),
    path("reports/volume/", views_reports.report_volume, name="report_volume"),
    path("reports/payouts/", views_reports.report_payouts, name="report_payouts"),
    path(
        "reports/failure-reasons/",
        views_reports.report_failure_reasons,
        name="report_failure_reasons",
    ),
]

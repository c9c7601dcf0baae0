from django.urls import path

from safetynet.reports import views

app_name = "reports"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("workbook.xlsx", views.workbook, name="workbook"),
    path("brief.pdf", views.brief, name="brief"),
    path("monthly/<int:report_id>/<str:kind>", views.monthly, name="monthly"),
]

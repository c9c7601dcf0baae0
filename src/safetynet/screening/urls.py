from django.urls import path

from safetynet.screening import views

app_name = "screening"
urlpatterns = [
    path("", views.index, name="index"),
    path("start/", views.start, name="start"),
    path("runs/<int:run_id>/", views.run, name="run"),
    path("warnings/", views.warning_list, name="warnings"),
    path("warnings/export.csv", views.warning_export, name="warning_export"),
    path("warnings/export.xlsx", views.warning_workbook, name="warning_workbook"),
    path("warnings/<int:warning_id>/", views.warning, name="warning"),
    path("rules/", views.rules, name="rules"),
    path("rules/backtest/", views.backtest, name="backtest"),
    path("compare/", views.compare, name="compare"),
]

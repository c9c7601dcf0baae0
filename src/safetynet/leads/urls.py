from django.urls import path

from safetynet.leads import views

app_name = "leads"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("new/", views.new, name="new"),
    path("export.xlsx", views.export, name="export"),
    path("mine/", views.mine, name="mine"),
    path("<int:lead_id>/", views.lead, name="lead"),
]

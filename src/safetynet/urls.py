"""URL routes: pages per app, the API under /api/, language switching under /i18n/."""

from django.urls import include, path

from safetynet import views
from safetynet.api import api

urlpatterns = [
    path("", views.home, name="home"),
    path("", include("safetynet.access.urls")),
    path("registry/", include("safetynet.registry.urls")),
    path("lake/", include("safetynet.lake.urls")),
    path("jobs/", include("safetynet.jobs.urls")),
    path("screening/", include("safetynet.screening.urls")),
    path("linkage/", include("safetynet.linkage.urls")),
    path("leads/", include("safetynet.leads.urls")),
    path("cases/", include("safetynet.cases.urls")),
    path("campaigns/", include("safetynet.campaigns.urls")),
    path("policies/", include("safetynet.policies.urls")),
    path("reports/", include("safetynet.reports.urls")),
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]

"""The JSON API (Django Ninja): one router per app, OpenAPI at /api/docs."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from ninja import NinjaAPI
from ninja.security import django_auth

from safetynet.access.api import router as access_router
from safetynet.campaigns.api import router as campaigns_router
from safetynet.cases.api import router as cases_router
from safetynet.lake.api import router as lake_router
from safetynet.leads.api import router as leads_router
from safetynet.linkage.api import router as linkage_router
from safetynet.policies.api import router as policies_router
from safetynet.registry.api import router as registry_router
from safetynet.screening.api import router as screening_router

# Session authentication (Ninja enforces CSRF on unsafe methods): pages and API share one login.
api = NinjaAPI(
    title="safetynet API", version="1", auth=django_auth, urls_namespace="api", docs_decorator=login_required
)
api.add_router("/access", access_router)
api.add_router("/registry", registry_router)
api.add_router("/screening", screening_router)
api.add_router("/linkage", linkage_router)
api.add_router("/leads", leads_router)
api.add_router("/cases", cases_router)
api.add_router("/campaigns", campaigns_router)
api.add_router("/policies", policies_router)
# Departments push with a bearer token of their own (the router sets its auth): no session, no CSRF.
api.add_router("/lake", lake_router)

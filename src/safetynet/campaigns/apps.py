from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "safetynet.campaigns"
    verbose_name = "Campaigns"

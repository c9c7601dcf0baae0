"""safetynet: proactive discovery of people in hardship and the workflow that helps them."""

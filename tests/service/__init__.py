"""Tests of the whole app as the composition root builds it: routes and their access,
pages, translations, migrations, the API document, demo data, the house rules."""

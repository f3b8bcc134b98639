"""Airflow UI plugin: the "Firestore → MongoDB" page, inside the Airflow UI.

The page and its JSON endpoint (`/firestore-to-mongo/`, `/firestore-to-mongo/api/state`)
live in include/firestore_to_mongo/ui/app.py; this file only registers them. Put it in
the api-server's plugins folder. The DAGs themselves don't need it.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from include.firestore_to_mongo.ui.app import create_app

URL_PREFIX = "/firestore-to-mongo"
FASTAPI_APPS = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Firestore → MongoDB sync"}]
# url_route: the page opens inside the Airflow UI (in a frame), under its navigation. The
# name is the navigation entry's label: the sidebar's buttons show about eight characters
# ("Firestore → MongoDB" came out as "Firestore …"), so a short one; the page's own heading
# says Firestore → MongoDB.
NAV_NAME = "Sync"
EXTERNAL_VIEWS = [
    {
        "name": NAV_NAME,
        "href": "firestore-to-mongo/",
        "url_route": "firestore-to-mongo",
        "destination": "nav",
    }
]


class FirestoreToMongoPlugin(AirflowPlugin):
    name = "firestore_to_mongo"
    fastapi_apps = FASTAPI_APPS
    external_views = EXTERNAL_VIEWS

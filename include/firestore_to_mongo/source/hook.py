"""A hook that hands out a `google.cloud.firestore.Client` for an Airflow Google connection.

The Google provider's CloudFirestoreHook only runs exports; this one reads.
"""

from __future__ import annotations

import os

from airflow.providers.google.common.hooks.base_google import GoogleBaseHook
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

DEFAULT_DATABASE = "(default)"


class FirestoreClientHook(GoogleBaseHook):
    """Build a Firestore client from a `google_cloud_platform` connection.

    Credentials and project come from the connection, as for every Google hook
    (key file, key JSON, impersonation or Application Default Credentials). The
    extra `database` selects a named database. With `FIRESTORE_EMULATOR_HOST`
    set, the client talks to the emulator and needs no credentials: the
    connection only has to name the project.
    """

    hook_name = "Google Cloud Firestore client"

    def get_conn(self) -> firestore.Client:
        database = self._get_field("database") or DEFAULT_DATABASE
        if os.environ.get("FIRESTORE_EMULATOR_HOST"):
            project = self._get_field("project") or os.environ.get("GOOGLE_CLOUD_PROJECT")
            if not project:
                raise ValueError(
                    f"connection {self.gcp_conn_id!r} names no project (extra 'project'), "
                    "and the Firestore emulator needs one"
                )
            return firestore.Client(project=project, database=database, credentials=AnonymousCredentials())
        credentials, project = self.get_credentials_and_project_id()
        if not project:
            raise ValueError(f"connection {self.gcp_conn_id!r} gives no project: set its extra 'project'")
        return firestore.Client(project=project, database=database, credentials=credentials)


def open_source(conn_id: str):
    """The Firestore client of the Airflow connection `conn_id`, and a name for its project
    and database (`project/database`): where a watermark came from."""
    hook = FirestoreClientHook(gcp_conn_id=conn_id)
    client = hook.get_conn()
    return client, f"{client.project}/{hook._get_field('database') or '(default)'}"

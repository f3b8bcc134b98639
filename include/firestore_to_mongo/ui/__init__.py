"""The sync page, an Airflow UI plugin's FastAPI app: how the sync stands per collection
(`state`, from the target database alone), its HTML (`page`), and the app (`app`).

Imports: anything below it (it shows both DAGs' figures under their own headings);
nothing imports it but plugins/.
"""

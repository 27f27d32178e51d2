"""The arena dashboard: `arena dashboard RUNS_DIR` (or `streamlit run dashboards/app.py`).

Reads the runs folder named by $ARENA_RUNS and never writes into it. The pages are the
scripts in dashboards/pages/ (Streamlit's pages folder, so a link to any page works on
a freshly started server); each draws the sidebar with `ui.setup`. This entry script
only forwards to the overview.
"""

import streamlit as st

st.switch_page("pages/overview.py")

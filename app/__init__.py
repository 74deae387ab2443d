"""The HyperNAS Explorer Streamlit app: `streamlit run app/main.py`."""

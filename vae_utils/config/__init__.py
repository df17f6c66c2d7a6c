"""What a run is and where its files go, without torch: paths, the dataset registry, the rules
every value is checked by, profiles' protocols, run files, notebooks saved as JupyterLab would."""

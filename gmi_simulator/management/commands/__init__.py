"""Management commands of the simulator: `manage.py gmi_simulator`."""

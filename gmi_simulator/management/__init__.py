"""The `gmi_simulator` management command, for sites that list the simulator in INSTALLED_APPS."""

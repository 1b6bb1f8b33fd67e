"""The dashboard's widgets: header, resource table, log pane, HA pane, command bar."""

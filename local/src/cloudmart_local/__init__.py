"""The laptop stack: every CloudMart component as a process on loopback, under supervisord."""

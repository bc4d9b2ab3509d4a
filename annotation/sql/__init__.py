"""The annotation app's database-specific statements: the assignment store per database and the quality reads."""

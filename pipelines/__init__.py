"""The application: jobs (ingest, train, evaluate, compare) and the command line that compose eegseq."""

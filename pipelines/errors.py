"""The one kind of error a job reports as a refusal: ``eegseq`` exits with status 2."""


class Refused(Exception):
    """The job cannot start (or go on) as asked, and has changed nothing of a finished run.

    The message names the file, field or option and what to do instead; the command line prints
    it without a traceback and exits with status 2.
    """

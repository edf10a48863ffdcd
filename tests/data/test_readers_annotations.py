"""Annotation parsers on small hand-written texts with known answers, and their pick-up beside an EDF."""

import textwrap

import edfio
import numpy as np
import pytest

from eegseq.data import Event, RecordingError, read_recording
from eegseq.data.readers import parse_chbmit_summary, parse_csv_bi, parse_events_tsv, parse_tse

# Both spellings CHB-MIT uses: "Seizure Start Time" (early subjects), "Seizure 1 Start Time" (later ones).
SUMMARY = """\
Data Sampling Rate: 256 Hz
*************************

Channels in EDF Files:
**********************
Channel 1: FP1-F7
Channel 2: T8-P8

File Name: chb01_01.edf
File Start Time: 11:42:54
File End Time: 12:42:54
Number of Seizures in File: 0

File Name: chb01_03.edf
File Start Time: 13:43:04
File End Time: 14:43:04
Number of Seizures in File: 1
Seizure Start Time: 2996 seconds
Seizure End Time: 3036 seconds

File Name: chb01_04.edf
File Start Time: 14:43:12
File End Time: 15:43:12
Number of Seizures in File: 2
Seizure 1 Start Time:  1467 seconds
Seizure 1 End Time: 1494 seconds
Seizure 2 Start Time: 1732 seconds
Seizure 2 End Time: 1772 seconds
"""

CSV_BI = """\
# version = csv_v1.0.0
# bname = aaaaaaac_s001_t000
# duration = 30.0000 secs
#
channel,start_time,stop_time,label,confidence
FP1-F7,0.0000,10.0000,bckg,1.0000
FP1-F7,10.0000,14.5000,seiz,1.0000
F7-T3,12.0000,16.0000,seiz,1.0000
F7-T3,20.0000,22.0000,seiz,0.8000
FP1-F7,14.5000,30.0000,bckg,1.0000
"""

EVENTS_TSV = (
    "onset\tduration\teventType\tconfidence\tchannels\tdateTime\trecordingDuration\n"
    "0.0\t30.0\tbckg\tn/a\tn/a\t2020-01-01 00:00:00\t30.0\n"
    "5.25\t3.5\tsz_foc_ia\tn/a\tn/a\t2020-01-01 00:00:00\t30.0\n"
    "18\t2\tsz\tn/a\tn/a\t2020-01-01 00:00:00\t30.0\n"
)


def write(path, text):
    path.write_text(text)
    return path


def test_chbmit_summary_both_spellings(tmp_path):
    result = parse_chbmit_summary(write(tmp_path / "chb01-summary.txt", SUMMARY))
    assert result == {
        "chb01_01.edf": [],
        "chb01_03.edf": [Event(2996.0, 40.0, "sz")],
        "chb01_04.edf": [Event(1467.0, 27.0, "sz"), Event(1732.0, 40.0, "sz")],
    }


def test_chbmit_summary_count_mismatch(tmp_path):
    text = SUMMARY.replace("Number of Seizures in File: 2", "Number of Seizures in File: 3")
    with pytest.raises(RecordingError, match=r"chb01-summary\.txt.*chb01_04\.edf.*says 3, found 2"):
        parse_chbmit_summary(write(tmp_path / "chb01-summary.txt", text))


def test_chbmit_summary_start_without_end(tmp_path):
    text = SUMMARY.replace("Seizure End Time: 3036 seconds\n", "")
    with pytest.raises(RecordingError, match=r"chb01-summary\.txt.*start without an end"):
        parse_chbmit_summary(write(tmp_path / "chb01-summary.txt", text))


def test_csv_bi_merges_channels(tmp_path):
    events = parse_csv_bi(write(tmp_path / "a.csv_bi", CSV_BI))
    assert events == [Event(10.0, 6.0, "sz"), Event(20.0, 2.0, "sz")]


def test_csv_bi_missing_column_and_bad_label(tmp_path):
    with pytest.raises(RecordingError, match=r"b\.csv_bi.*missing column\(s\) \['stop_time'\]"):
        parse_csv_bi(write(tmp_path / "b.csv_bi", CSV_BI.replace("stop_time", "end")))
    with pytest.raises(RecordingError, match=r"c\.csv_bi.*data row 3: label 'fnsz'"):
        parse_csv_bi(
            write(tmp_path / "c.csv_bi", CSV_BI.replace("F7-T3,12.0000,16.0000,seiz", "F7-T3,12.0000,16.0000,fnsz"))
        )


def test_events_tsv(tmp_path):
    events = parse_events_tsv(write(tmp_path / "sub-01_run-00_events.tsv", EVENTS_TSV))
    assert events == [Event(5.25, 3.5, "sz_foc_ia"), Event(18.0, 2.0, "sz")]


def test_events_tsv_bad_number(tmp_path):
    with pytest.raises(RecordingError, match=r"x_events\.tsv.*data row 2, column 'onset': 'abc'"):
        parse_events_tsv(write(tmp_path / "x_events.tsv", EVENTS_TSV.replace("5.25", "abc")))


def write_edf(path, seconds=30, rate=256):
    signal = edfio.EdfSignal(np.sin(np.arange(seconds * rate) / 10) * 50, rate, label="FP1-F7", physical_dimension="uV")
    edfio.Edf([signal], annotations=[edfio.EdfAnnotation(1.0, 1.0, "in-file")]).write(path)
    return path


@pytest.mark.parametrize(
    ("edf_name", "sidecar_name", "text", "expected"),
    [
        ("aaaaaaac_s001_t000.edf", "aaaaaaac_s001_t000.csv_bi", CSV_BI, [(10.0, 6.0, "sz"), (20.0, 2.0, "sz")]),
        (
            "sub-01_run-00_eeg.edf",
            "sub-01_run-00_events.tsv",
            EVENTS_TSV,
            [(5.25, 3.5, "sz_foc_ia"), (18.0, 2.0, "sz")],
        ),
    ],
)
def test_sidecar_picked_up(tmp_path, edf_name, sidecar_name, text, expected):
    edf = write_edf(tmp_path / edf_name)
    write(tmp_path / sidecar_name, text)
    rec = read_recording(edf)
    assert [(e.onset, e.duration, e.label) for e in rec.events] == expected
    assert rec.meta["annotation_file"].endswith(sidecar_name)
    # Without sidecar look-up, the in-file EDF+ annotation is what remains.
    assert [(e.onset, e.label) for e in read_recording(edf, annotations=None).events] == [(1.0, "in-file")]


def test_chbmit_summary_explicit_and_unlisted(tmp_path):
    summary = write(
        tmp_path / "summary-of-chb01-summary.txt",
        textwrap.dedent("""\
        File Name: chb01_03.edf
        Number of Seizures in File: 1
        Seizure Start Time: 12 seconds
        Seizure End Time: 20 seconds
        """),
    )
    rec = read_recording(write_edf(tmp_path / "chb01_03.edf"), annotations=summary)
    assert rec.events == [Event(12.0, 8.0, "sz")]
    with pytest.raises(RecordingError, match=r"summary does not list 'chb01_05\.edf'"):
        read_recording(write_edf(tmp_path / "chb01_05.edf"), annotations=summary)


def test_csv_bi_stating_another_duration_is_refused(tmp_path):
    """A .csv_bi says how long its recording is: beside a 10 s EDF, a 30 s annotation belongs elsewhere."""
    edf = write_edf(tmp_path / "short.edf", seconds=10)
    with pytest.raises(
        RecordingError, match=r"short\.csv_bi: states a duration of 30\.0 s, but short\.edf lasts 10\.000 s"
    ):
        read_recording(edf, annotations=write(tmp_path / "short.csv_bi", CSV_BI))


# BIDS events of a 10 s recording: one inside, one ending 0.5 s late (rounding), one running 5 s past the end,
# one starting after it.
LATE_TSV = "onset\tduration\teventType\n2\t3\tsz\n8\t2.5\tsz\n9\t6\tsz\n12\t1\tsz\n"


def test_events_past_the_end_refused_by_default(tmp_path):
    edf = write_edf(tmp_path / "sub-01_eeg.edf", seconds=10)
    write(tmp_path / "sub-01_events.tsv", LATE_TSV)
    with pytest.raises(
        RecordingError,
        match=r"2 event\(s\) from .*sub-01_events\.tsv start or end after the "
        r"recording's end at 10\.000 s: \[\(9\.0, 15\.0, 'sz'\), \(12\.0, 13\.0, 'sz'\)\]",
    ):
        read_recording(edf)


def test_events_past_the_end_clipped_with_a_warning(tmp_path):
    edf = write_edf(tmp_path / "sub-01_eeg.edf", seconds=10)
    write(tmp_path / "sub-01_events.tsv", LATE_TSV)
    rec = read_recording(edf, events_past_end="clip")
    # hand-computed: rounding-late end clipped silently, the long one clipped to 10 s, the late one dropped
    assert rec.events == [Event(2.0, 3.0, "sz"), Event(8.0, 2.0, "sz"), Event(9.0, 1.0, "sz")]
    assert len(rec.meta["warnings"]) == 2
    assert "9.0-15.0 s" in rec.meta["warnings"][0] and "clipped" in rec.meta["warnings"][0]
    assert "12.0-13.0 s" in rec.meta["warnings"][1] and "dropped" in rec.meta["warnings"][1]


def test_events_given_as_a_list_follow_the_same_rule(tmp_path):
    """A manifest's events table reaches the reader as a list: checked like an annotation file."""
    edf = write_edf(tmp_path / "rec.edf", seconds=10)
    with pytest.raises(RecordingError, match="start or end after the recording's end"):
        read_recording(edf, annotations=[Event(11.0, 2.0, "sz")])
    assert read_recording(edf, annotations=[Event(11.0, 2.0, "sz")], events_past_end="clip").events == []


# Old TUSZ term files (v1 layout), as TUSZ v1.5 shipped them.
TSE_BI = """\
version = tse_v1.0.0

0.0000 10.0000 bckg 1.0000
10.0000 16.0000 seiz 1.0000
16.0000 30.0000 bckg 1.0000
"""
TSE = """\
version = tse_v1.0.0

0.0000 10.0000 bckg 1.0000
10.0000 14.5000 fnsz 1.0000
12.0000 16.0000 cpsz 0.9000
20.0000 22.0000 gnsz 1.0000
22.0000 30.0000 bckg 1.0000
"""


@pytest.mark.parametrize(
    ("suffix", "text", "expected"),
    [
        (".tse_bi", TSE_BI, [Event(10.0, 6.0, "sz")]),
        (".tse", TSE, [Event(10.0, 6.0, "sz"), Event(20.0, 2.0, "sz")]),
    ],
)
def test_old_tusz_term_files_are_read_beside_the_edf(tmp_path, suffix, text, expected):
    edf = write_edf(tmp_path / "aaaaaaac_s001_t000.edf")
    write(tmp_path / f"aaaaaaac_s001_t000{suffix}", text)
    rec = read_recording(edf)
    assert rec.events == expected
    assert rec.meta["annotation_file"].endswith(suffix)


def test_old_tusz_unknown_label_refused_by_name(tmp_path):
    path = write(tmp_path / "x.tse", TSE.replace("gnsz", "nesz"))
    with pytest.raises(RecordingError, match=r"x\.tse: line 6: label 'nesz' is not understood"):
        parse_tse(path)


def test_chbmit_summary_picked_up_beside_edf(tmp_path):
    write(tmp_path / "chb01-summary.txt", SUMMARY.replace("2996", "3").replace("3036", "9"))
    rec = read_recording(write_edf(tmp_path / "chb01_03.edf"))
    assert rec.events == [Event(3.0, 6.0, "sz")]

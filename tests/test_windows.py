"""Peaks to windows: bad inputs stop with file:line messages; drops are recorded."""

import gzip

import pytest

from dfim.errors import InputError
from dfim.windows import make_windows, read_peaks


@pytest.fixture
def genome(tmp_path):
    import pysam

    fa = tmp_path / "g.fa"
    fa.write_text(">chr1\n" + "ACGT" * 100 + "\n>chr2\n" + "acgt" * 20 + "N" * 120 + "\n")
    pysam.faidx(str(fa))
    return fa


def windows(tmp_path, genome, text, **kw):
    bed = tmp_path / "p.bed"
    bed.write_text(text)
    return make_windows("s", bed, str(genome) + ".fai", width=50, fasta_path=genome, **kw)


def test_headers_and_crlf_are_accepted(tmp_path, genome):
    df = windows(tmp_path, genome, "track name=x\r\nbrowser position chr1\r\n# c\r\nchr1\t100\t200\tp1\r\n")
    assert list(df["status"]) == ["kept"] and df.iloc[0]["start"] == 125


def test_narrowpeak_summit_centres_the_window(tmp_path, genome):
    df = windows(tmp_path, genome, "chr1\t100\t300\tp\t0\t.\t1\t1\t1\t30\n")
    assert (df.iloc[0]["start"], df.iloc[0]["end"]) == (105, 155)


@pytest.mark.parametrize("line,msg", [
    ("chr1\t-5\t10\n", "negative coordinate"),
    ("chr1\t1.5\t10\n", "must be non-negative integers"),
    ("chr1\t50\t50\n", r"start \(50\) must be < end \(50\)"),
    ("chr1\t10\n", "at least 3 tab-separated columns"),
])
def test_malformed_lines_name_file_and_line(tmp_path, genome, line, msg):
    with pytest.raises(InputError, match=rf"p\.bed:2: .*{msg}"):
        windows(tmp_path, genome, "chr1\t100\t200\n" + line)


def test_missing_contig_is_an_error_and_chr_prefix_is_reconciled(tmp_path, genome):
    with pytest.raises(InputError, match=r"p\.bed:1: contig 'chrX' is not in the genome FASTA"):
        windows(tmp_path, genome, "chrX\t1\t10\n")
    df = windows(tmp_path, genome, "1\t100\t200\n")
    assert df.iloc[0]["chrom"] == "chr1"


def test_off_end_n_rich_and_duplicate_windows_are_recorded(tmp_path, genome):
    df = windows(tmp_path, genome, "chr1\t0\t20\n" "chr1\t390\t400\n" "chr2\t150\t160\n" "chr1\t100\t200\n" "chr1\t100\t200\n")
    assert list(df["reason"].fillna("")) == ["off_chromosome_end", "off_chromosome_end", "too_many_N", "", "duplicate_window"]
    assert list(df["index"]) == [-1, -1, -1, 0, -1]


def test_empty_peak_file(tmp_path, genome):
    with pytest.raises(InputError, match="holds no peaks"):
        windows(tmp_path, genome, "track only\n")


def test_truncated_gzip(tmp_path):
    path = tmp_path / "p.bed.gz"
    data = gzip.compress(("chr1\t1\t100\n" * 2000).encode())
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated or corrupt"):
        read_peaks(path)


def test_blacklist(tmp_path, genome):
    bl = tmp_path / "bl.bed"
    bl.write_text("chr1\t140\t150\n")
    df = windows(tmp_path, genome, "chr1\t100\t200\nchr1\t300\t310\n", blacklist=str(bl))
    assert list(df["reason"].fillna("")) == ["blacklist", ""]


def test_variants_skip_indels_and_multiallelic_and_reject_wrong_ref(tmp_path, genome):
    import pandas as pd

    from dfim.elements import read_variants

    wins = pd.DataFrame({"window_id": ["w0"], "chrom": ["chr1"], "start": [100], "end": [150], "index": [0]})
    header = "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=400>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    # chr1 is ACGT repeated: 0-based 100 is A, so 1-based POS 101 has REF A
    vcf = tmp_path / "v.vcf"
    vcf.write_text(header + "chr1\t101\trs1\tA\tG\t.\t.\t.\n"
                   "chr1\t103\trs2\tG\tGA\t.\t.\t.\n"
                   "chr1\t105\trs3\tA\tC,T\t.\t.\t.\n"
                   "chr1\t301\trs4\tA\tT\t.\t.\t.\n")
    v, skipped = read_variants(vcf, wins, genome)
    assert v.to_dict("records") == [{"seq": 0, "pos": 0, "ref": "A", "alt": "G", "name": "rs1"}]
    assert skipped == {"indel": 1, "multi_allelic": 1, "outside_windows": 1}
    bad = tmp_path / "bad.vcf"
    bad.write_text(header + "chr1\t101\trs1\tC\tG\t.\t.\t.\n")
    with pytest.raises(InputError, match=r"bad\.vcf: variant chr1:101 has REF C but the genome has A"):
        read_variants(bad, wins, genome)

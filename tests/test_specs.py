import pytest

from dfim.specs import MutationSpecs, SpecError

SEED_EXAMPLE = {
    "seq_0": {"seq": 0, "mut_start": 45, "mut_end": 55, "mut_name": "summit",
              "resp_start": [0], "resp_end": [100], "resp_names": ["flank_size_100"]},
}


def test_seed_dict_round_trips_through_tsv(tmp_path):
    specs = MutationSpecs.from_dict(SEED_EXAMPLE)
    specs.validate(100)
    path = tmp_path / "specs.tsv"
    specs.write_tsv(path)
    back = MutationSpecs.read_tsv(path)
    assert back.to_dict() == SEED_EXAMPLE
    assert not (tmp_path / "specs.tsv.tmp").exists()


def test_spec_outside_sequence_names_the_entry():
    specs = MutationSpecs.from_dict({"bad": {**SEED_EXAMPLE["seq_0"], "mut_end": 120}})
    with pytest.raises(SpecError, match=r"'bad'.*\[45, 120\).*length 100"):
        specs.validate(100)
    specs = MutationSpecs.from_dict({"t": {**SEED_EXAMPLE["seq_0"], "resp_end": [101]}})
    with pytest.raises(SpecError, match="'t'.*flank_size_100"):
        specs.validate(100)


def test_start_not_before_end_is_rejected():
    with pytest.raises(SpecError, match="'x'.*mut_start \\(55\\) must be < mut_end \\(45\\)"):
        MutationSpecs.from_dict({"x": {**SEED_EXAMPLE["seq_0"], "mut_start": 55, "mut_end": 45}})
    with pytest.raises(SpecError, match="resp_start \\(10\\) >= resp_end \\(10\\)"):
        MutationSpecs.from_dict({"x": {**SEED_EXAMPLE["seq_0"], "resp_start": [10], "resp_end": [10]}})


def test_tsv_errors_name_file_and_line(tmp_path):
    path = tmp_path / "s.tsv"
    path.write_text(
        "key\tseq\tmut_start\tmut_end\tmut_name\tresp_start\tresp_end\tresp_names\talt\n"
        "a\t0\t1\t5\tm\t0\t10\tt\t\n"
        "b\t0\tx\t5\tm\t0\t10\tt\t\n"
    )
    with pytest.raises(SpecError, match=r"s\.tsv:3.*mut_start must be an integer"):
        MutationSpecs.read_tsv(path)


def test_mismatched_target_lists():
    with pytest.raises(SpecError, match="2 resp_start values but 1 resp_end"):
        MutationSpecs.from_dict({"x": {**SEED_EXAMPLE["seq_0"], "resp_start": [0, 5], "resp_end": [10]}})

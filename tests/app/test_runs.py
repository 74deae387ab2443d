import numpy as np
import pytest

from app.runs import DEMO_SPEC, Run, RunSpec
from hypernas_core import get_space
from hypernas_core.rankings import held_out_report


def test_spec_rejects_bad_values_with_clear_messages():
    with pytest.raises(ValueError, match="budget must be in 2..5000"):
        RunSpec(budget=1).config()
    with pytest.raises(ValueError, match="q must be > 1"):
        RunSpec(q=1.0).config()
    with pytest.raises(ValueError, match="scan_size must be in 12..15625"):
        RunSpec(budget=10, scan_size=5).config()
    with pytest.raises(ValueError, match="method must be one of"):
        RunSpec(method="nas").config()
    with pytest.raises(ValueError, match=r"rank_weight must be a finite number >= 0 \(got -1.0\)"):
        RunSpec(rank_weight=-1.0).config()


def test_demo_spec_is_a_full_hypernas_run_over_the_whole_space():
    config = DEMO_SPEC.config()
    assert config.method == "hypernas" and config.hypernet.enabled
    assert DEMO_SPEC.scan_size is None


def test_finished_run_scores_and_embeds_its_scanned_archs(np_run):
    space = get_space("nb201")
    assert np_run.is_ready and not np_run.is_active
    assert len(np_run.archs) == 300 and set(np_run.train_archs) <= set(np_run.archs)
    assert np_run.scan.embeddings.shape == (300, 144) and np_run.pca.shape == (300, 2)
    assert [e["epoch"] for e in np_run.epoch_records()] == [1.0, 2.0]
    # the scan agrees with the predictor, and the true scores with the benchmark table
    assert np.allclose(
        np_run.scan.scores[:5], np_run.predictor.predict(np_run.archs[:5]), atol=1e-4
    )
    assert np.array_equal(np_run.true_scores, space.labels(np_run.archs))
    frame = np_run.rank_frame()
    assert frame["is_train"].sum() == 12
    assert -1 <= held_out_report(frame)["kendall_tau"] <= 1
    assert np_run.predicted(np_run.archs[3]) == pytest.approx(float(np_run.scan.scores[3]))
    assert np_run.predicted("not an arch") is None
    assert (np_run.op_counts().sum(axis=1) == 6).all()


def test_run_cancelled_during_training_has_no_results():
    run = Run(RunSpec(method="np", budget=40, epochs=500, scan_size=100))
    run.cancel.set()
    run.start().join(timeout=60)
    assert run.status == "cancelled" and not run.is_ready and run.scan is None


def test_run_with_missing_cifar_folder_fails_with_a_message(tmp_path):
    spec = RunSpec(
        method="hypernas",
        budget=4,
        epochs=1,
        aux_dataset="cifar10",
        aux_root=str(tmp_path),
        scan_size=20,
    )
    run = Run(spec).start()
    run.join(timeout=60)
    assert run.status == "failed" and "CIFAR-10 python files missing" in run.error


@pytest.mark.slow
def test_umap_job_projects_the_embeddings(np_run):
    np_run.start_umap()
    np_run._umap_thread.join(timeout=300)
    assert np_run.umap_status == "done" and np_run.umap.shape == (300, 2)

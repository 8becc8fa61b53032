"""Two changes to how otter 7.0.0 runs a submission, made by the plugin before grading starts.

- otter reads the submission's ``.OTTER_LOG`` with ``dill.load``, in the grader's own process, before
  any grading: a log crafted by a student would run its code there, as the grader. Grading never uses
  the log (``grade_from_log`` is off), so ``forget_log`` deletes it first.
- otter executes the notebook that ``before_execution`` returns in a kernel of its own and collects
  test results there. The plugin hands it an empty notebook and sets every result itself after
  grading, so that kernel would cost a second or two of CPU and ~150 MB per submission for nothing:
  ``skip_otters_kernel`` makes the runner build the results without it.
"""

import os

import nbformat

LOG_NAME = ".OTTER_LOG"  # otter.check.notebook.OTTER_LOG_FILENAME


def forget_log(submission_dir):
    """Delete the submission's .OTTER_LOG, whatever it is, without following it: a file, a symbolic link
    (the link goes, its target stays), a FIFO, or a folder of any depth (removed iteratively)."""
    from .intake import remove_path

    remove_path(os.path.join(submission_dir, LOG_NAME))


def grade_without_a_kernel(submission_path, *, tests_glob, plugin_collection, script=False, **options):
    """otter.execute.grade_notebook for this plugin: before_execution, the test files (read, not run),
    after_grading. Anything else (a script, no plugins) goes to otter's own."""
    from otter.execute import grade_notebook
    from otter.nbmeta_config import NBMetadataConfig
    from otter.test_files import GradingResults, create_test_file

    if script or plugin_collection is None:
        return grade_notebook(submission_path, tests_glob=tests_glob, plugin_collection=plugin_collection,
                              script=script, **options)
    notebook = plugin_collection.before_execution(nbformat.read(submission_path, as_version=4))
    results = GradingResults([create_test_file(path, NBMetadataConfig()) for path in tests_glob], notebook)
    plugin_collection.run("after_grading", results)
    return results


def skip_otters_kernel():
    from otter.run.run_autograder.runners import python_runner

    python_runner.grade_notebook = grade_without_a_kernel

"""Make the corpus of notebooks Jupyter opens, each written the way a real tool writes it, from the
student release (test_intake.py grades none of them: intake must accept each and keep its code cells).

    .venv/bin/python tests/notebook_variants/make_variants.py     # rewrites the .ipynb files here

Each variant keeps the release's cells and their sources (only the file's layout, metadata, ids,
outputs and version fields differ), except where its description says otherwise. Fixed random
choices (ids, hashes), so that running it again changes nothing.
"""

import base64
import copy
import json
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
RELEASE = os.path.join(HERE, "..", "..", "student_release", "hw1.ipynb")
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000" "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201ffa6e5"
    "c6260000000049454e44ae426082")).decode()
rng = random.Random(20230929)


def hex_id(n=8):
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def colab_id():
    return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))


def release():
    with open(RELEASE, encoding="utf-8") as f:
        return json.load(f)


def lines(text):
    """A source as nbformat writes it: a list of lines, each with its newline."""
    return text.splitlines(keepends=True)


def text_of(source):
    return "".join(source) if isinstance(source, list) else source


def nbformat_style(nb):
    """Jupyter's own layout (nbformat.writes): one-space indent, sorted keys, a newline at the end."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def executed_outputs(i):
    """Outputs of every kind, as Jupyter and Colab record them."""
    kinds = [
        {"output_type": "stream", "name": "stdout", "text": ["Epoch 1: loss 0.52\n", "Epoch 2: loss 0.41\n"]},
        {"output_type": "stream", "name": "stderr", "text": "UserWarning: something\n"},
        {"output_type": "execute_result", "execution_count": i, "metadata": {},
         "data": {"text/plain": ["array([1., 2.])"], "text/html": ["<b>1.0</b>"]}},
        {"output_type": "display_data", "metadata": {"needs_background": "light", "image/png": {"width": 1, "height": 1}},
         "data": {"image/png": PNG, "text/plain": ["<Figure size 640x480 with 1 Axes>"]}},
        {"output_type": "display_data", "metadata": {},
         "data": {"image/svg+xml": ["<svg xmlns=\"http://www.w3.org/2000/svg\"/>"], "text/latex": ["$x^2$"],
                  "application/json": {"a": [1, 2, {"b": None}]}, "text/plain": ["<IPython.core.display.JSON object>"]}},
        {"output_type": "error", "ename": "ValueError", "evalue": "shapes (3,) and (4,) not aligned",
         "traceback": ["\x1b[0;31m---------------------------------------------------------------------------\x1b[0m",
                       "\x1b[0;31mValueError\x1b[0m: shapes (3,) and (4,) not aligned"]},
    ]
    return [copy.deepcopy(kinds[i % len(kinds)])]


def jupytext_ids_minor4():
    """jupytext (before 1.13) and nbdev with nbformat >= 5.1: every cell has an id, yet the file still
    says nbformat_minor 4 (the case of issue 12: refused as 'not a valid Jupyter notebook')."""
    nb = release()
    for c in nb["cells"]:
        c["id"] = hex_id()
    nb["metadata"]["jupytext"] = {"formats": "ipynb,py:percent"}
    return nbformat_style(nb)


def jupytext_py_roundtrip():
    """The notebook paired with a py:percent script and rebuilt from it by jupytext itself: jupytext keeps
    only the kernelspec, so otter's metadata (the assignment's name) is gone; the set-up cell is there."""
    with tempfile.TemporaryDirectory() as tmp:
        py, out = os.path.join(tmp, "hw1.py"), os.path.join(tmp, "hw1.ipynb")
        jupytext = [sys.executable, "-m", "jupytext", "--quiet"]
        subprocess.run([*jupytext, "--to", "py:percent", RELEASE, "-o", py], check=True)
        subprocess.run([*jupytext, "--to", "notebook", py, "-o", out], check=True)
        with open(out, encoding="utf-8") as f:
            return f.read()


def nbdev_clean():
    """nbdev_clean: notebook metadata cut to the kernelspec (otter's goes too), execution counts
    cleared, ids under nbformat_minor 4."""
    nb = release()
    nb["metadata"] = {"kernelspec": nb["metadata"]["kernelspec"]}
    for c in nb["cells"]:
        c["id"] = hex_id()
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def colab():
    """Google Colab: nbformat_minor 0, two-space indent in its own key order, Colab's metadata
    (provenance, GPU), an id in each cell's metadata rather than a cell id, executed cells with
    outputs, a tqdm progress bar (widget view) and the widgets' state."""
    nb = release()
    cells = []
    for i, c in enumerate(nb["cells"]):
        cell = {"cell_type": c["cell_type"], "source": c["source"], "metadata": {**c["metadata"], "id": colab_id()}}
        if c["cell_type"] == "code":
            cell["metadata"]["colab"] = {"base_uri": "https://localhost:8080/", "height": 35}
            cell["metadata"]["outputId"] = f"{hex_id()}-{hex_id(4)}-{hex_id(4)}-{hex_id(4)}-{hex_id(12)}"
            cell["execution_count"] = i
            cell["outputs"] = executed_outputs(i)
        cells.append(cell)
    widget = code_cells({"cells": cells})[3]
    widget["outputs"].append({"output_type": "display_data", "metadata": {}, "data": {
        "application/vnd.jupyter.widget-view+json": {"model_id": "3f2c", "version_major": 2, "version_minor": 0},
        "text/plain": ["100%|██████████| 10/10 [00:01<00:00,  9.5it/s]"]}})
    metadata = {
        "colab": {"provenance": [], "collapsed_sections": [], "toc_visible": True, "gpuType": "T4"},
        "kernelspec": {"name": "python3", "display_name": "Python 3"},
        "language_info": {"name": "python"},
        "accelerator": "GPU",
        "widgets": {"application/vnd.jupyter.widget-state+json": {"3f2c": {
            "model_module": "@jupyter-widgets/controls", "model_name": "HBoxModel", "model_module_version": "1.5.0",
            "state": {"children": ["IPY_MODEL_a1", "IPY_MODEL_b2"], "layout": "IPY_MODEL_c3"}}}},
        "otter": nb["metadata"]["otter"],
    }
    return json.dumps({"nbformat": 4, "nbformat_minor": 0, "metadata": metadata, "cells": cells}, indent=2,
                      ensure_ascii=False)


def vscode_minor2():
    """An older VS Code Jupyter extension: cell ids under nbformat_minor 2, its interpreter hash, the
    kernel named after the environment, orig_nbformat (which the schema says is never written)."""
    nb = release()
    for i, c in enumerate(nb["cells"]):
        c["id"] = hex_id()
        if c["cell_type"] == "code":
            c["execution_count"] = i
            c["outputs"] = executed_outputs(i)
    nb["nbformat_minor"] = 2
    nb["metadata"] = {
        "kernelspec": {"display_name": "Python 3.11.5 ('dl': venv)", "language": "python", "name": "python3"},
        "language_info": {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                          "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                          "pygments_lexer": "ipython3", "version": "3.11.5"},
        "orig_nbformat": 4,
        "vscode": {"interpreter": {"hash": hex_id(64)}},
        "otter": nb["metadata"]["otter"],
    }
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def jupyterlab_widgets():
    """JupyterLab 4 with ipywidgets: nbformat 4.5, execution timestamps in each code cell's metadata,
    the widgets' saved state in the notebook's metadata, scrolled and collapsed outputs."""
    nb = release()
    nb["nbformat_minor"] = 5
    for i, c in enumerate(nb["cells"]):
        c["id"] = f"{hex_id()}-{hex_id(4)}-{hex_id(4)}-{hex_id(4)}-{hex_id(12)}"
        if c["cell_type"] == "code":
            c["metadata"]["execution"] = {"iopub.execute_input": "2023-09-28T21:05:51.120Z",
                                          "iopub.status.busy": "2023-09-28T21:05:51.119Z",
                                          "shell.execute_reply": "2023-09-28T21:05:51.461Z"}
            c["metadata"]["scrolled"] = "auto" if i % 2 else True
            c["metadata"]["jupyter"] = {"outputs_hidden": False, "source_hidden": False}
            c["execution_count"] = i
            c["outputs"] = executed_outputs(i)
    nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {"3f2c": {"model_module": "@jupyter-widgets/controls", "model_module_version": "2.0.0",
                           "model_name": "FloatProgressModel", "state": {"value": 10, "max": 10}}},
        "version_major": 2, "version_minor": 0}}
    nb["metadata"]["toc-autonumbering"] = True
    return nbformat_style(nb)


def bom_crlf():
    """Saved again by a Windows editor: a UTF-8 byte order mark and CRLF line endings."""
    return "\ufeff" + nbformat_style(release()).replace("\n", "\r\n")


def minimal_fields():
    """Written by a script, not an editor: what Jupyter does without left out (outputs and execution
    counts of code cells, nbformat_minor, the kernelspec and language_info), cell metadata empty but for
    tags, sources as single strings, no indentation."""
    nb = release()
    cells = []
    for c in nb["cells"]:
        tags = c["metadata"].get("tags")
        cells.append({"cell_type": c["cell_type"], "metadata": {"tags": tags} if tags else {}, "source": text_of(c["source"])})
    return json.dumps({"nbformat": 4, "metadata": {"otter": nb["metadata"]["otter"]}, "cells": cells})


def attachments():
    """A Markdown answer with a pasted image (a cell attachment), as JupyterLab saves it."""
    nb = release()
    answers = [c for c in nb["cells"] if c["cell_type"] == "markdown" and "otter_answer_cell" in c["metadata"].get("tags", [])]
    answers[0]["source"] = lines(text_of(answers[0]["source"]) + "\n\n![image.png](attachment:image.png)")
    answers[0]["attachments"] = {"image.png": {"image/png": PNG}}
    return nbformat_style(nb)


def other_kernel():
    """Last run with a conda environment's kernel (not python3), and a language_info that says so."""
    nb = release()
    nb["metadata"]["kernelspec"] = {"display_name": "Python [conda env:dl-fall23]", "language": "python",
                                    "name": "conda-env-dl-fall23-py"}
    nb["metadata"]["language_info"] = {"name": "python", "version": "3.10.12"}
    return nbformat_style(nb)


def other_language_kernel():
    """A kernelspec that is not Python at all (the notebook was opened with the wrong kernel and saved)."""
    nb = release()
    nb["metadata"]["kernelspec"] = {"display_name": "R", "language": "R", "name": "ir"}
    nb["metadata"]["language_info"] = {"name": "R", "codemirror_mode": "r", "file_extension": ".r"}
    return nbformat_style(nb)


def ipython2_v3():
    """Notebook format 3 (IPython 2 and 3): worksheets, "input" for code; Jupyter upgrades it."""
    nb = release()
    cells = []
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            cells.append({"cell_type": "code", "collapsed": False, "input": c["source"], "language": "python",
                          "metadata": c["metadata"], "outputs": []})
        else:
            cells.append({"cell_type": c["cell_type"], "metadata": c["metadata"], "source": c["source"]})
    return nbformat_style({"nbformat": 3, "nbformat_minor": 0, "worksheets": [{"cells": cells, "metadata": {}}],
                           "metadata": {"name": "", "signature": "", "otter": nb["metadata"]["otter"]}})


def future_minor():
    """nbformat_minor 6, newer than this nbformat knows (Jupyter reads it, with a warning)."""
    nb = release()
    nb["nbformat_minor"] = 6
    for c in nb["cells"]:
        c["id"] = hex_id()
    return nbformat_style(nb)


def schema_errors():
    """What JupyterLab still opens, with a 'notebook validation failed' warning: duplicate, too long and
    ill-formed cell ids, a tag with a comma, metadata of the wrong type, an execution count as a string,
    an output of an unknown type, a v3 'heading' cell, a lone surrogate (valid JSON, not UTF-8) in
    Markdown, extra keys on cells and on the notebook."""
    nb = release()
    for i, c in enumerate(nb["cells"]):
        c["id"] = ["same", "x" * 80, "has space", "same", "ok-id"][i % 5]
        if c["cell_type"] == "code":
            c["metadata"]["collapsed"] = "yes"
            c["metadata"]["tags"] = c["metadata"].get("tags", []) + ["a,b"]
            c["execution_count"] = str(i)
            c["outputs"] = [{"output_type": "future_output", "data": 3}]
            c["extra_field"] = True
    nb["cells"].insert(1, {"cell_type": "heading", "level": 2, "metadata": {}, "source": "Old heading"})
    markdown = [c for c in nb["cells"] if c["cell_type"] == "markdown"]
    markdown[0]["source"] = text_of(markdown[0]["source"]) + "\n(\ud800)"
    nb["metadata"]["kernelspec"] = {"name": 3}
    nb["metadata"]["language_info"] = "python"
    nb["extra_top_level"] = {"x": 1}
    return json.dumps(nb, indent=1, ensure_ascii=True) + "\n"


VARIANTS = {
    "jupytext_ids_minor4": jupytext_ids_minor4,
    "jupytext_py_roundtrip": jupytext_py_roundtrip,
    "nbdev_clean": nbdev_clean,
    "colab": colab,
    "vscode_minor2": vscode_minor2,
    "jupyterlab_widgets": jupyterlab_widgets,
    "bom_crlf": bom_crlf,
    "minimal_fields": minimal_fields,
    "attachments": attachments,
    "other_kernel": other_kernel,
    "other_language_kernel": other_language_kernel,
    "ipython2_v3": ipython2_v3,
    "future_minor": future_minor,
    "schema_errors": schema_errors,
}


def main():
    for name, make in VARIANTS.items():
        text = make()
        # surrogatepass: the schema_errors variant holds an escaped lone surrogate (ASCII on disk)
        with open(os.path.join(HERE, f"{name}.ipynb"), "wb") as f:
            f.write(text.encode("utf-8", "surrogatepass"))
        print(name)


if __name__ == "__main__":
    main()

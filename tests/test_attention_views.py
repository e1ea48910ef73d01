"""Attention views are self-contained HTML (no CDN), carry the right data, refuse what would freeze a page.

That they draw in a real browser is tests/browser/test_jupyterlab_views.py.
"""

import importlib.util
import re
from pathlib import Path

import pytest
import torch
from transformers import (
    DistilBertConfig,
    DistilBertForMaskedLM,
    ElectraConfig,
    ElectraForMaskedLM,
    RobertaConfig,
    RobertaForMaskedLM,
)

import helpers.attention_views as views
from helpers.attention import attention_for, queries_and_keys_for
from helpers.offline_scripts import OfflineScriptError, library_source, view_script

TEXT = "the movie was [MASK] ."
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.mark.parametrize("view", [views.head_view, views.model_view, views.neuron_view])
def test_views_load_nothing_from_the_network(tiny_model, tiny_tokenizer, view):
    html = view(tiny_model, tiny_tokenizer, TEXT).html
    assert "cdnjs" not in html and "require.config" not in html and " src=" not in html
    assert html.count("</script>") == 1  # one script holds d3, jQuery and the BertViz view
    assert "d3js.org v5.7.0" in html and "jQuery v3.7.1" in html
    assert '"[MASK]"' in html and '"movie"' in html


def test_each_drawing_gets_its_own_element_id(tiny_model, tiny_tokenizer):
    view = views.head_view(tiny_model, tiny_tokenizer, TEXT)
    ids = [re.search(r'<div id="([^"]+)"', view.html).group(1) for _ in range(2)]
    assert ids[0] != ids[1] and all(i.startswith("promptlab-head-view-") for i in ids)
    assert view.kind == "head_view" and view.tokens == ("[CLS]", "the", "movie", "was", "[MASK]", ".", "[SEP]")


def test_views_compare_by_their_data_and_are_not_hashable(tiny_model, tiny_tokenizer):
    view = views.head_view(tiny_model, tiny_tokenizer, TEXT)
    assert view == views.head_view(tiny_model, tiny_tokenizer, TEXT)
    assert view != views.head_view(tiny_model, tiny_tokenizer, "the plot was [MASK] .")
    with pytest.raises(TypeError, match="unhashable type: 'AttentionView'"):
        hash(view)


def _tiny(model_class, config_class, tokenizer, **extra):
    torch.manual_seed(0)
    config = config_class(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                          intermediate_size=64, max_position_embeddings=40, attn_implementation="eager", **extra)
    return model_class(config).eval()


@pytest.mark.parametrize("family", ["bert", "roberta", "electra"])
def test_queries_and_keys_reproduce_the_attention(tiny_model, tiny_tokenizer, family):
    model = {"bert": lambda: tiny_model,
             "roberta": lambda: _tiny(RobertaForMaskedLM, RobertaConfig, tiny_tokenizer),
             "electra": lambda: _tiny(ElectraForMaskedLM, ElectraConfig, tiny_tokenizer, embedding_size=32)}[family]()
    attention, tokens = attention_for(model, tiny_tokenizer, TEXT)
    queries, keys, same_tokens = queries_and_keys_for(model, tiny_tokenizer, TEXT)
    assert same_tokens == tokens and queries.shape == keys.shape == (2, 2, len(tokens), 16)
    by_hand = torch.softmax(queries @ keys.transpose(-1, -2) / queries.shape[-1] ** 0.5, dim=-1)
    torch.testing.assert_close(by_hand, torch.cat(attention), atol=1e-5, rtol=1e-5)


def test_neuron_view_carries_queries_keys_and_weights_per_layer_and_head(tiny_model, tiny_tokenizer):
    html = views.neuron_view(tiny_model, tiny_tokenizer, TEXT, layer=1, head=1).html
    assert '"queries":[[[[' in html and '"keys":[[[[' in html and '"layer":1,"head":1' in html
    with pytest.raises(ValueError, match=r"layer must be in 0\.\.1 and head in 0\.\.1"):
        views.neuron_view(tiny_model, tiny_tokenizer, TEXT, layer=2)


def test_queries_and_keys_need_a_bert_style_model(tiny_tokenizer):
    config = DistilBertConfig(vocab_size=len(tiny_tokenizer), dim=32, n_layers=1, n_heads=2, hidden_dim=64,
                              max_position_embeddings=40)
    with pytest.raises(ValueError, match="BERT-style"):
        queries_and_keys_for(DistilBertForMaskedLM(config).eval(), tiny_tokenizer, TEXT)


def test_too_many_shapes_get_a_message_that_says_what_to_pass(tiny_model, tiny_tokenizer, monkeypatch):
    monkeypatch.setattr(views, "MAX_DRAWN_SHAPES", 100)  # 7 tokens: 49 lines per head
    with pytest.raises(ValueError, match=r"would draw 196 shapes \(2 layers x 2 heads x 7x7.*at most 2 layer-head"):
        views.model_view(tiny_model, tiny_tokenizer, TEXT)
    assert views.model_view(tiny_model, tiny_tokenizer, TEXT, layers=[1], heads=[0]).kind == "model_view"
    with pytest.raises(ValueError, match=r"head view would draw 126 shapes.*heads= with at most 1 heads"):
        views.head_view(tiny_model, tiny_tokenizer, TEXT)
    assert views.head_view(tiny_model, tiny_tokenizer, TEXT, heads=[1]).kind == "head_view"


def test_bad_layer_or_head_lists_are_refused(tiny_model, tiny_tokenizer):
    with pytest.raises(ValueError, match=r"layers must be a non-empty list of indices in 0\.\.1"):
        views.model_view(tiny_model, tiny_tokenizer, TEXT, layers=[3])
    with pytest.raises(ValueError, match=r"layer must be in 0\.\.1"):
        views.head_view(tiny_model, tiny_tokenizer, TEXT, layer=-1)


def test_text_cannot_close_the_script_early():
    script = view_script("head_view", {"attention": "</script><b>x</b>"}, "root")
    assert "</script" not in script and "<\\/script><b>x<\\/b>" in script


def test_save_writes_a_standalone_page(tiny_model, tiny_tokenizer, tmp_path):
    view = views.model_view(tiny_model, tiny_tokenizer, TEXT)
    page = view.save(tmp_path / "view.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<title>model_view: [CLS] the" in page
    assert '<div id="promptlab-model-view-' in page and "d3js.org v5.7.0" in page and page.count("</script>") == 1


def test_a_missing_library_package_says_how_to_install_it(monkeypatch):
    library_source.cache_clear()
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(OfflineScriptError, match=r"'mpld3' is not installed.*pip install -e"):
        library_source("d3")
    library_source.cache_clear()


def test_in_a_notebook_a_view_is_a_widget_that_sends_its_script_on_request(tiny_model, tiny_tokenizer):
    view = views.head_view(tiny_model, tiny_tokenizer, TEXT)
    data, metadata = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data and "text/html" not in data
    assert metadata[views.VIEW_METADATA] == {"kind": "head_view", "tokens": 7}
    assert data["text/plain"] == repr(view) == "<head_view of 7 tokens: [CLS] the movie was [MASK] . [SEP]>"
    markup, script = view.render()
    widget = views._AttentionWidget(markup, script)
    sent = []
    widget.send = sent.append
    widget._handle_custom_msg({"request": "script"}, [])
    assert sent == [{"script": script}] and "d3js.org" not in widget.markup


def test_with_a_views_folder_a_view_is_saved_there_and_named_in_its_metadata(tiny_model, tiny_tokenizer,
                                                                           tmp_path, monkeypatch):
    folder = tmp_path / "views"
    monkeypatch.setenv(views.VIEWS_DIR_VARIABLE, str(folder))
    neuron = views.neuron_view(tiny_model, tiny_tokenizer, TEXT)
    data, metadata = neuron._repr_mimebundle_()
    described = metadata[views.VIEW_METADATA]
    assert data == {"text/plain": repr(neuron)}
    assert described == {"kind": "neuron_view", "tokens": 7, "page": described["page"]}
    page = (folder / described["page"]).read_text(encoding="utf-8")
    assert "promptlab-neuron-view" in page and page.count("</script>") == 1
    again = views.neuron_view(tiny_model, tiny_tokenizer, TEXT)._repr_mimebundle_()[1][views.VIEW_METADATA]
    other = views.neuron_view(tiny_model, tiny_tokenizer, TEXT, head=1)._repr_mimebundle_()[1][views.VIEW_METADATA]
    assert again["page"] == described["page"] != other["page"]  # named by content
    assert sorted(p.name for p in folder.iterdir()) == sorted({described["page"], other["page"]})


def test_no_notebook_stores_the_libraries():
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        text = notebook.read_text()
        assert "d3js.org" not in text and "jQuery v3" not in text, notebook.name

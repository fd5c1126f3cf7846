"""Every public function and class documents its arguments and what it returns (the API reference is made of them).

Read from the source with ``ast`` (nothing is imported): a public function
(or public method of a public class) with parameters has an ``Args:``
section naming each of them, one that returns a value has ``Returns:`` (or
``Yields:``); a public class has a docstring, with ``Args:`` when its
``__init__`` takes arguments; lecture layers state their equation. Methods
that implement a Keras or TensorFlow hook (``call``, ``build``,
``get_config``, ``train_step``, callbacks' ``on_*``, ...) are documented by
that framework and by the class's ``Call arguments``.
"""

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
FRAMEWORK_HOOKS = {
    "call",
    "build",
    "get_config",
    "from_config",
    "compute_output_shape",
    "compute_mask",
    "get_initial_state",
    "train_step",
    "test_step",
    "predict_step",
    "update_state",
    "result",
    "reset_state",
    "set_model",
}
LAYER_FILES = {
    "dense",
    "rnn",
    "attention",
    "multi_head_attention",
    "positional_encoding",
    "position_embedding",
    "sampling",
}


def _modules():
    for path in sorted((ROOT / "mit_dl").rglob("*.py")):
        relative = path.relative_to(ROOT)
        if not any(part.startswith("_") and part != "__init__.py" for part in relative.parts):
            yield relative, ast.parse(path.read_text())


def _parameters(function, skip_first):
    arguments = function.args
    names = [a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs]
    names = names[1:] if skip_first and names else names
    if arguments.vararg:
        names.append("*" + arguments.vararg.arg)
    if arguments.kwarg:
        names.append("**" + arguments.kwarg.arg)
    return names


def _own_nodes(function):
    """The nodes of ``function``'s body, not those of functions defined inside it."""
    stack = list(function.body)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))


def _returns_value(function):
    for node in _own_nodes(function):
        if isinstance(node, ast.Return) and node.value is not None:
            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                return True
    return False


def _documented(doc, name):
    bare = name.lstrip("*")
    return re.search(rf"^\s+\**{re.escape(bare)}\b.*:", doc, re.M) is not None


def _function_problems(function, where, is_method):
    if function.name in FRAMEWORK_HOOKS or function.name.startswith("on_"):
        return []
    decorators = {getattr(d, "id", getattr(d, "attr", "")) for d in function.decorator_list}
    doc = ast.get_docstring(function)
    if not doc:
        return [f"{where}: no docstring"]
    if "property" in decorators or "setter" in decorators:
        return []
    problems = []
    parameters = _parameters(function, skip_first=is_method and "staticmethod" not in decorators)
    if parameters:
        if "Args:" not in doc:
            problems.append(f"{where}: no Args: section for {parameters}")
        else:
            args = doc.split("Args:", 1)[1]
            missing = [p for p in parameters if not _documented(args, p)]
            if missing:
                problems.append(f"{where}: Args: does not name {missing}")
    yields_value = any(
        isinstance(n, ast.YieldFrom) or (isinstance(n, ast.Yield) and n.value) for n in _own_nodes(function)
    )
    if yields_value and "Yields:" not in doc:
        problems.append(f"{where}: no Yields: section")
    elif not yields_value and _returns_value(function) and "Returns:" not in doc:
        problems.append(f"{where}: no Returns: section")
    return problems


def _class_problems(node, where):
    doc = ast.get_docstring(node)
    problems = [] if doc else [f"{where}: no docstring"]
    init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
    if doc and init is not None and _parameters(init, skip_first=True) and "Args:" not in doc:
        problems.append(f"{where}: __init__ takes arguments but the class docstring has no Args:")
    for member in node.body:
        if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)) and not member.name.startswith("_"):
            problems += _function_problems(member, f"{where}.{member.name}", is_method=True)
    return problems


def problems():
    found = []
    for path, tree in _modules():
        for node in tree.body:
            if getattr(node, "name", "_").startswith("_"):
                continue
            where = f"{path}:{node.lineno} {node.name}" if hasattr(node, "name") else ""
            if isinstance(node, ast.ClassDef):
                found += _class_problems(node, where)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found += _function_problems(node, where, is_method=False)
    return found


def test_every_public_function_and_class_documents_args_and_returns():
    found = problems()
    assert not found, f"{len(found)} docstrings to complete:\n" + "\n".join(found)


def test_every_lecture_layer_states_its_equation():
    for name in LAYER_FILES:
        tree = ast.parse((ROOT / "mit_dl" / "layers" / f"{name}.py").read_text())
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                doc = ast.get_docstring(node)
                assert "=" in doc and "Lecture" in doc, f"{name}.{node.name}: no lecture equation in the docstring"

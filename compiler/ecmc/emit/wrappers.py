"""Typed wrappers: one function per runnable capability, calling it through the caller's
context with its input model and answering with its output type."""

from __future__ import annotations

from collections.abc import Mapping

from ecm_contract import Answer, Operation, Scope

from ecmc.emit.imports import Imports
from ecmc.emit.layout import INDENT, Atom, Group, call, prefixed, render
from ecmc.emit.names import PythonIdentifier, snake
from ecmc.ir import Capability

RETURNS: Mapping[Answer, str] = {
    Answer.WRITTEN: "{written}",
    Answer.ONE: "{model}",
    Answer.ONE_OR_NONE: "{model} | None",
    Answer.MANY: "tuple[{model}, ...]",
    Answer.MAPPED: "dict[tuple[object, ...], {model}]",
    Answer.NOTHING: "None",
}
"""Each answer shape's return type; the wrapper calls the context's method of that shape."""


_SCOPE_NOTES = {
    Scope.TENANT: "\n\nTenant scope: reads and writes stay within the caller's tenant.",
    Scope.GLOBAL: (
        "\n\nTenant scope: GLOBAL; its rows are shared by every tenant, as the wiring says."
    ),
}


_ENGINE_MODULE_FUNCTIONS = frozenset({"annotations", "enum", "t", "pd"})


def _function_name(stem: str) -> str:
    """A wrapper's name: the capability's stem, clear of the module's own names."""
    function = snake(stem)
    if function in _ENGINE_MODULE_FUNCTIONS:
        return PythonIdentifier(f"{function}_call")
    return function


def storage_wrapper(
    cap: Capability,
    stem: str,
    operation: Operation,
    constant: str,
    models: tuple[str, str],
    source: str,
    imports: Imports,
    scope: Scope | None,
) -> dict[str, str]:
    """A typed function that calls one capability through the caller's context."""
    input_model, output_model = models
    answer = operation.answer
    returns = RETURNS[answer]
    function = _function_name(stem)
    arguments = [constant, "payload"]
    if "{model}" in returns:
        arguments.append(output_model)
    written = imports.name("ecm_runtime.results", "Written") if "{written}" in returns else ""
    returns = returns.format(model=output_model, written=written)
    context = imports.name("ecm_runtime.context", "CallContext")
    parameters = (Atom(f"ctx: {context}"), Atom(f"payload: {input_model}"))
    return {
        "source": source,
        "signature": render(Group(f"def {function}", "(", parameters, ")"), 0, f" -> {returns}:"),
        "returns": returns,
        "doc": f"{cap.name or cap.id} ({cap.id}).{_SCOPE_NOTES[scope] if scope else ''}",
        "body": render(prefixed("return ", call(f"ctx.{answer}", *arguments)), INDENT),
    }


def handler_wrapper(
    cap: Capability,
    stem: str,
    constant: str,
    models: tuple[str, str],
    source: str,
    imports: Imports,
) -> dict[str, str]:
    """A handler capability's wrapper: the runtime validated the handler's answer against the
    output type, which the cast states to the type checker."""
    input_model, returns = models
    context = imports.name("ecm_runtime.context", "CallContext")
    parameters = (Atom(f"ctx: {context}"), Atom(f"payload: {input_model}"))
    handled = call("ctx.handle", constant, "payload")
    if returns == "None":
        body = render(handled, INDENT)
    else:
        cast = f"{imports.module('typing', 't')}.cast"
        body = render(prefixed("return ", call(cast, returns, handled)), INDENT)
    signature = Group(f"def {_function_name(stem)}", "(", parameters, ")")
    return {
        "source": source,
        "signature": render(signature, 0, f" -> {returns}:"),
        "returns": returns,
        "doc": f"{cap.name or cap.id} ({cap.id}), run by its registered handler.",
        "body": body,
    }

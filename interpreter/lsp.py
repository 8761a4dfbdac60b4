"""`med lsp`: the language server, on stdio (built on pygls).

Diagnostics come from the real compiler as the author types; hover, completion,
go-to-definition and the outline answer from the last analysis of each document
(document.py), so they never wait for a compile. Formatting is `med fmt`'s.

This module only speaks the protocol: it converts positions between the client's units
(UTF-16 by default) and code points, and the analysis results into protocol types.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional
from urllib.parse import unquote, urlparse

import attrs
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcInvalidRequest, JsonRpcParseError
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import ServerTextPosition

from . import __version__
from .document import (Analysis, Place, Symbol, analyse, completions, definition, file_path, hover, standard_library,
                       symbols, unanalysed)
from . import editing
from .errors import Diagnostic, MedError
from .formatter import format_text
from .lsp_frames import FrameReader
from .messages import choose, localise
from .recheck import Rechecker
from .reparse import Reparser
from .text import normal_newlines

# A document the client never opened is read from disk only if it is a regular file this small.
MAX_UNOPENED_BYTES = 4 * 1024 * 1024
MAX_USERS = 100  # files beside a module looked at for a rename


_SEVERITY = {"error": lsp.DiagnosticSeverity.Error, "warning": lsp.DiagnosticSeverity.Warning}
_COMPLETION_KIND = {
    "keyword": lsp.CompletionItemKind.Keyword, "name": lsp.CompletionItemKind.EnumMember,
    "fund": lsp.CompletionItemKind.Module, "measure": lsp.CompletionItemKind.Field,
    "parameter": lsp.CompletionItemKind.Variable, "kind": lsp.CompletionItemKind.Class,
}
_SYMBOL_KIND = {
    "policy": lsp.SymbolKind.File, "use": lsp.SymbolKind.Module, "parameter": lsp.SymbolKind.Variable,
    "define": lsp.SymbolKind.Enum, "entry": lsp.SymbolKind.EnumMember, "scheme": lsp.SymbolKind.Namespace,
    "fund": lsp.SymbolKind.Object, "block": lsp.SymbolKind.Class, "clause": lsp.SymbolKind.Property,
}


class _Answered:
    """A message the protocol layer already answered with an error: nothing more to do."""


class MedProtocol(LanguageServerProtocol):
    """pygls's protocol, made to answer every request: one whose params do not fit its
    method, one that is not a JSON-RPC request at all, and one after `shutdown` each get a
    JSON-RPC error instead of silence."""

    def structure_message(self, data):
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if isinstance(data, dict) and "method" in data and "id" in data:
                self._send_response(_id(data.get("id")), None, exc.to_response_error())
                return _Answered()
            raise

    def handle_message(self, message):
        if isinstance(message, _Answered):
            return
        if not hasattr(message, "jsonrpc"):  # a JSON value that is no JSON-RPC message
            msg_id = _id(message.get("id")) if isinstance(message, dict) else None
            self._send_response(msg_id, None, JsonRpcInvalidRequest("not a JSON-RPC 2.0 message").to_response_error())
            return
        if self._shutdown and getattr(message, "method", "") != lsp.EXIT and getattr(message, "id", None) is not None \
                and getattr(message, "method", None):
            self._send_response(message.id, None, JsonRpcInvalidRequest("the server is shutting down").to_response_error())
            return
        super().handle_message(message)

    def garbage(self, reason: str) -> None:
        """Input that was no well-formed frame (FrameReader dropped it): a parse error, id null."""
        self._send_response(None, None, JsonRpcParseError(reason).to_response_error())


def _id(value):
    return value if isinstance(value, (int, str)) and not isinstance(value, bool) else None


class MedServer(LanguageServer):
    """The server and its per-document state (the last analysis of each open document).

    Compiling and formatting run on one worker thread, in turn: requests are answered from
    the last analysis meanwhile, and two parses never run at once (lark's indentation
    post-lexer keeps its state on the one shared parser).
    """

    def __init__(self):
        super().__init__("med", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Full,
                         protocol_cls=MedProtocol)
        self.analyses: dict[str, Analysis] = {}
        self.reparsers: dict[str, Reparser] = {}  # each open document's pieces (reparse.py)
        self.recheckers: dict[str, Rechecker] = {}  # and its compiled lines (recheck.py)
        self.incremental = True  # False: parse and check the whole text on every edit (benchmarks/lsp.py)
        self.settling: dict[str, asyncio.Future] = {}  # uri -> done when its latest refresh has published
        self.languages: dict[tuple, str] = {}  # head of a text (its first 400 lines) -> its keywords' language
        self.stdlib = standard_library()
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="med-compile")
        self.lang: Optional[str] = None  # --lang, else the client's `lang` option or a Chinese locale

    def language(self, text: str) -> str:
        """The language of this document's diagnostics (messages.choose; no server locale).
        The keywords are counted once per head of text (choose reads the first 400 lines):
        an edit below them does not count them again."""
        if self.lang:
            return choose(self.lang)
        head = text.split("\n", 400)[:400]
        key = tuple(head)
        if key not in self.languages:
            if len(self.languages) > 64:
                self.languages.clear()
            self.languages[key] = choose(None, "\n".join(head), environ={})
        return self.languages[key]

    async def in_worker(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.worker, fn, *args)

    async def refresh(self, uri: str, version: Optional[int] = None) -> None:
        """Compile the document as it now is and publish its diagnostics (unless it changed meanwhile).

        No wait after a keystroke: changes queue on the one worker, and a queued compile whose
        text is no longer the document's is skipped, so a burst of typing compiles the text
        of the moment the worker is free, and an edit's diagnostics come as soon as it is."""
        done = asyncio.get_running_loop().create_future()
        self.settling[uri] = done
        try:
            await self._refresh(uri, version)
        finally:
            done.set_result(None)
            if self.settling.get(uri) is done:
                del self.settling[uri]

    async def settled(self, uri: str) -> None:
        """Wait until the document's latest edit has been checked and its diagnostics sent:
        what draws the document (semantic tokens, inlay hints, folding, outline) comes after
        the diagnostics, computed on the new text, rather than taking the time before them."""
        done = self.settling.get(uri)
        if done is not None:
            await asyncio.shield(done)

    async def _refresh(self, uri: str, version: Optional[int]) -> None:
        doc = self.workspace.get_text_document(uri)
        if version is not None and doc.version != version:
            return
        text = doc.source
        path, base_dir = _path_of(uri)
        helpers = (None, None)
        if self.incremental:
            helpers = (self.reparsers.setdefault(uri, Reparser(path)), self.recheckers.setdefault(uri, Rechecker()))
        result = await self.in_worker(self._analyse_current, uri, text, path, base_dir, *helpers)
        if result is None or not self._current(uri, text):
            return  # closed, or a later change will publish
        self.analyses[uri] = result
        units = _units(doc)
        lang = self.language(text)
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(
            uri=uri, diagnostics=[_diagnostic(units, result, localise(d, lang)) for d in result.diagnostics],
            version=doc.version))

    def _current(self, uri: str, text: str) -> bool:
        docs = self.workspace.text_documents
        return unquote(uri) in docs and self.workspace.get_text_document(uri).source == text

    def _analyse_current(self, uri: str, text: str, path: str, base_dir: Optional[str],
                         reparser: Optional[Reparser], rechecker: Optional[Rechecker]) -> Optional[Analysis]:
        """On the worker: analyse `text`, unless the document has changed since (None)."""
        if not self._current(uri, text):
            return None
        return analyse(text, path, base_dir, self.stdlib, self.analyses.get(uri), reparser, rechecker)

    async def users_of(self, module: Analysis, module_uri: str) -> dict[str, tuple[TextDocument, Analysis]]:
        """Every policy that `use`s this module: the open ones (their last analysis), and the
        files beside it on disk (at most MAX_USERS, each read as an unopened document and compiled)."""
        name = Path(module.path).stem
        found = {uri: (self.workspace.get_text_document(uri), a) for uri, a in list(self.analyses.items())
                 if uri != module_uri and editing.uses_module(a.lines, name)}
        folder = Path(module.path).parent
        if not folder.is_dir():
            return found
        for path in sorted(folder.glob("*.med"))[:MAX_USERS]:
            uri = path.resolve().as_uri()
            if uri in found or uri == module_uri or unquote(uri) in self.workspace.text_documents:
                continue
            try:
                doc = TextDocument(uri, source=_read_unopened(uri))
            except JsonRpcException:
                continue
            if editing.uses_module(doc.source.splitlines(), name):
                a = await self.in_worker(analyse, doc.source, str(path), str(folder), self.stdlib, None)
                found[uri] = (doc, a)
        return found

    def document(self, uri: str) -> TextDocument:
        """An open document; else the file behind `uri` if it is a regular file of at most
        MAX_UNOPENED_BYTES (never a device, a FIFO or a huge file); else an error."""
        if unquote(uri) in self.workspace.text_documents or uri in self.workspace.text_documents:
            return self.workspace.get_text_document(uri)
        return TextDocument(uri, source=_read_unopened(uri))

    def analysis(self, uri: str) -> tuple[TextDocument, Analysis]:
        """The document and its last analysis, read against its current text (never compiles)."""
        doc = self.document(uri)
        lines = _lines(doc.source)
        a = self.analyses.get(uri)
        if a is None:  # asked before the first compile finished: the standard names only
            return doc, unanalysed(_path_of(uri)[0], lines, self.stdlib)
        # Text typed since the last compile: read it, with the names that compile knew.
        return doc, a if a.lines == lines else attrs.evolve(a, lines=lines)


def _read_unopened(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        raise JsonRpcInvalidParams(f"{uri} is not open")
    path = unquote(parsed.path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block the open
    except OSError as e:
        raise JsonRpcInvalidParams(f"cannot read {path}: {e.strerror}") from None
    except ValueError:  # a NUL in the path
        raise JsonRpcInvalidParams(f"{uri!r} is not a file name") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise JsonRpcInvalidParams(f"cannot read {path}: not a regular file")
        if info.st_size > MAX_UNOPENED_BYTES:
            raise JsonRpcInvalidParams(f"cannot read {path}: over {MAX_UNOPENED_BYTES} bytes; open it in the editor")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_UNOPENED_BYTES + 1)
    except OSError as e:  # e.g. /proc files: "regular", yet unreadable
        raise JsonRpcInvalidParams(f"cannot read {path}: {e.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_UNOPENED_BYTES:
        raise JsonRpcInvalidParams(f"cannot read {path}: over {MAX_UNOPENED_BYTES} bytes; open it in the editor")
    return data.decode("utf-8", errors="replace")


def _lines(text: str) -> tuple[str, ...]:
    return tuple(normal_newlines(text).split("\n"))


def _path_of(uri: str) -> tuple[str, Optional[str]]:
    """The name the compiler gives the document, and the folder its `use`s are looked up in."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return uri, None
    path = Path(unquote(parsed.path))
    return str(path), str(path.parent)


class _Units:
    """Positions in one text, from code points to the client's units (UTF-16 unless agreed otherwise)."""

    def __init__(self, codec, lines):
        self.codec, self.lines = codec, lines  # split once: a document's `lines` splits on every call

    def position(self, line: int, column: int) -> lsp.Position:
        return self.codec.position_to_client_units(self.lines, ServerTextPosition(line, column))

    def range(self, line: int, start: int, end_line: int, end: int) -> lsp.Range:
        return lsp.Range(start=self.position(line, start), end=self.position(end_line, end))


def _units(doc: TextDocument) -> _Units:
    return _Units(doc.position_codec, doc.lines)


def _diagnostic(units: _Units, a: Analysis, d: Diagnostic) -> lsp.Diagnostic:
    s = d.span
    message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
    if s.file == a.path and s.line >= 1:
        rng = units.range(s.line - 1, max(s.column - 1, 0), s.end_line - 1, max(s.end_column - 1, 0))
    else:  # a problem in a module the policy uses: shown at the top, naming its place
        rng = units.range(0, 0, 0, 0)
        message = f"{s.file}:{s.line}:{s.column}: {message}"
    return lsp.Diagnostic(range=rng, message=message, severity=_SEVERITY.get(d.severity), source="med")


def _cursor(doc: TextDocument, position: lsp.Position) -> tuple[int, int]:
    p = doc.position_from_client_units(position)
    return p.line, p.character


def create_server() -> MedServer:
    """The server with every feature registered."""
    server = MedServer()

    @server.feature(lsp.INITIALIZE)
    def on_initialize(ls: MedServer, params: lsp.InitializeParams):
        options = params.initialization_options if isinstance(params.initialization_options, dict) else {}
        asked = options.get("lang") if isinstance(options.get("lang"), str) else None
        if ls.lang is None and (asked or (params.locale or "").lower().startswith("zh")):
            ls.lang = asked or params.locale
        ls.incremental = options.get("check") != "full"

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: MedServer, params: lsp.DidOpenTextDocumentParams):
        await ls.refresh(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: MedServer, params: lsp.DidChangeTextDocumentParams):
        await ls.refresh(params.text_document.uri, params.text_document.version)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: MedServer, params: lsp.DidSaveTextDocumentParams):
        # a module beside the policy may have changed on disk
        await ls.refresh(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: MedServer, params: lsp.DidCloseTextDocumentParams):
        ls.analyses.pop(params.text_document.uri, None)
        ls.reparsers.pop(params.text_document.uri, None)
        ls.recheckers.pop(params.text_document.uri, None)
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: MedServer, params: lsp.HoverParams) -> Optional[lsp.Hover]:
        doc, a = ls.analysis(params.text_document.uri)
        line, column = _cursor(doc, params.position)
        found = hover(a, line, column)
        if found is None:
            return None
        text, (start, end) = found
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text),
                         range=_units(doc).range(line, start, line, end))

    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=[" "]))
    def on_completion(ls: MedServer, params: lsp.CompletionParams) -> lsp.CompletionList:
        doc, a = ls.analysis(params.text_document.uri)
        line, column = _cursor(doc, params.position)
        items, start = completions(a, line, column)
        rng = _units(doc).range(line, start, line, column)
        return lsp.CompletionList(is_incomplete=False, items=[
            lsp.CompletionItem(
                label=c.label, kind=_COMPLETION_KIND[c.kind], detail=c.detail,
                documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=c.documentation) if c.documentation else None,
                text_edit=lsp.TextEdit(range=rng, new_text=c.label),
                sort_text=f"{k:04d}",  # our order (the regulation's usual word first), not the client's A-Z
            ) for k, c in enumerate(items)])

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    def on_definition(ls: MedServer, params: lsp.DefinitionParams) -> Optional[lsp.Location]:
        doc, a = ls.analysis(params.text_document.uri)
        line, column = _cursor(doc, params.position)
        place = definition(a, line, column)
        return None if place is None else _location(doc, a, place)

    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    async def on_formatting(ls: MedServer, params: lsp.DocumentFormattingParams) -> Optional[list[lsp.TextEdit]]:
        doc, a = ls.analysis(params.text_document.uri)
        # When the last analysis parsed this very text, formatting reuses its tree.
        tree = a.module if a.module is not None and a.module_lines == a.lines else None
        try:
            formatted = await ls.in_worker(format_text, doc.source, _path_of(doc.uri)[0], tree)
        except MedError:
            return None  # the diagnostics already say why
        if formatted == doc.source:
            return []
        end = lsp.Position(line=len(doc.lines), character=0)
        return [lsp.TextEdit(range=lsp.Range(start=lsp.Position(line=0, character=0), end=end), new_text=formatted)]

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    async def on_symbols(ls: MedServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
        await ls.settled(params.text_document.uri)
        doc, a = ls.analysis(params.text_document.uri)
        units = _units(doc)
        return [_document_symbol(units, s) for s in symbols(a)]

    _register_editing(server)
    return server


def _register_editing(server: MedServer) -> None:
    """References, rename, quick fixes, semantic tokens, folding, links, workspace symbols."""

    @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    def on_references(ls: MedServer, params: lsp.ReferenceParams) -> list[lsp.Location]:
        doc, a = ls.analysis(params.text_document.uri)
        line, column = _cursor(doc, params.position)
        target = editing.target_at(a, line, column)
        if target is None:
            return []
        units = _units(doc)
        return [lsp.Location(uri=doc.uri, range=units.range(r.line, r.start, r.line, r.end))
                for r in editing.references(a, target, params.context.include_declaration)]

    @server.feature(lsp.TEXT_DOCUMENT_PREPARE_RENAME)
    def on_prepare_rename(ls: MedServer, params: lsp.PrepareRenameParams):
        doc, a = ls.analysis(params.text_document.uri)
        line, column = _cursor(doc, params.position)
        found = editing.renamable(a, line, column)
        if found is None:
            return None
        r = found[1]
        return _units(doc).range(r.line, r.start, r.line, r.end)

    @server.feature(lsp.TEXT_DOCUMENT_RENAME, lsp.RenameOptions(prepare_provider=True))
    async def on_rename(ls: MedServer, params: lsp.RenameParams) -> Optional[lsp.WorkspaceEdit]:
        doc, a = ls.analysis(params.text_document.uri)
        line, column = _cursor(doc, params.position)
        found = editing.renamable(a, line, column)
        if found is None:
            raise JsonRpcInvalidParams("only a name this file defines (a `define` entry or a `parameter`) can be renamed")
        target = found[0]
        if not editing.rename(a, target, params.new_name):
            raise JsonRpcInvalidParams(f"`{params.new_name}` is not a name (letters, digits and -)")
        changes = {doc.uri: _edits(doc, editing.rename(a, target, params.new_name), params.new_name)}
        for uri, (odoc, other) in (await ls.users_of(a, doc.uri)).items():
            word = other.vocabulary.words.get((target.word.kind, target.name)) if target.word else None
            if target.kind == "word" and word is None:
                continue
            theirs = editing.Target(target.kind, target.name, word)
            edits = [r for r in editing.references(other, theirs) if other.lines[r.line][r.start:r.end] == target.name]
            if edits:
                changes[uri] = _edits(odoc, edits, params.new_name)
        return lsp.WorkspaceEdit(changes=changes)

    @server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
    async def on_code_action(ls: MedServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        await ls.settled(params.text_document.uri)
        doc, a = ls.analysis(params.text_document.uri)
        units = _units(doc)
        actions = []
        for d in params.context.diagnostics:
            if d.source != "med":
                continue
            start = doc.position_from_client_units(d.range.start)
            guess = editing.suggestion(d.message)
            word = editing.misspelt_word(a, start.line, start.character)
            if guess is not None and word is not None:
                edit = lsp.TextEdit(range=units.range(word.line, word.start, word.line, word.end), new_text=guess)
                actions.append(lsp.CodeAction(title=f"Replace with `{guess}`", kind=lsp.CodeActionKind.QuickFix,
                                              diagnostics=[d], is_preferred=True,
                                              edit=lsp.WorkspaceEdit(changes={doc.uri: [edit]})))
            gap = editing.missing_clauses(a, start.line, d.message)
            if gap is not None:
                at = lsp.Position(line=gap[0], character=0)
                edit = lsp.TextEdit(range=lsp.Range(start=at, end=at), new_text=gap[1])
                actions.append(lsp.CodeAction(title="Add the missing clauses (rates to fill in)",
                                              kind=lsp.CodeActionKind.QuickFix, diagnostics=[d],
                                              edit=lsp.WorkspaceEdit(changes={doc.uri: [edit]})))
        return actions

    @server.feature(lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
                    lsp.SemanticTokensLegend(token_types=list(editing.TOKEN_TYPES),
                                             token_modifiers=list(editing.TOKEN_MODIFIERS)))
    async def on_semantic_tokens(ls: MedServer, params: lsp.SemanticTokensParams) -> lsp.SemanticTokens:
        await ls.settled(params.text_document.uri)
        doc, a = ls.analysis(params.text_document.uri)
        return lsp.SemanticTokens(data=_encode_tokens(_units(doc), editing.semantic_tokens(a)))

    @server.feature(lsp.TEXT_DOCUMENT_INLAY_HINT)
    async def on_inlay_hints(ls: MedServer, params: lsp.InlayHintParams) -> list[lsp.InlayHint]:
        await ls.settled(params.text_document.uri)
        doc, a = ls.analysis(params.text_document.uri)
        units = _units(doc)
        first, last = params.range.start.line, params.range.end.line
        return [lsp.InlayHint(position=units.position(line, column), label=label, padding_left=True)
                for line, column, label in editing.inlay_hints(a) if first <= line <= last]

    @server.feature(lsp.TEXT_DOCUMENT_FOLDING_RANGE)
    async def on_folding(ls: MedServer, params: lsp.FoldingRangeParams) -> list[lsp.FoldingRange]:
        await ls.settled(params.text_document.uri)
        _doc, a = ls.analysis(params.text_document.uri)
        return [lsp.FoldingRange(start_line=s, end_line=e) for s, e in editing.folding_ranges(a)]

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_LINK)
    async def on_links(ls: MedServer, params: lsp.DocumentLinkParams) -> list[lsp.DocumentLink]:
        await ls.settled(params.text_document.uri)
        doc, a = ls.analysis(params.text_document.uri)
        units = _units(doc)
        return [lsp.DocumentLink(range=units.range(r.line, r.start, r.line, r.end),
                                 target=file_path(f, str(Path(a.path).parent)).resolve().as_uri())
                for r, f in editing.use_links(a)]

    @server.feature(lsp.WORKSPACE_SYMBOL)
    def on_workspace_symbols(ls: MedServer, params: lsp.WorkspaceSymbolParams) -> list[lsp.WorkspaceSymbol]:
        query = params.query.lower()
        out = []
        for uri, a in list(ls.analyses.items()):
            doc = ls.workspace.get_text_document(uri)
            units = _units(doc)
            for s in _flatten(symbols(a)):
                if query in s.name.lower():
                    line, start, end = s.head
                    out.append(lsp.WorkspaceSymbol(
                        name=s.name, kind=_SYMBOL_KIND[s.kind], container_name=Path(a.path).name,
                        location=lsp.Location(uri=uri, range=units.range(line, start, line, end))))
        return out


def _flatten(items) -> list[Symbol]:
    out = []
    for s in items:
        out.append(s)
        out += _flatten(s.children)
    return out


def _edits(doc: TextDocument, ranges, new_text: str) -> list[lsp.TextEdit]:
    units = _units(doc)
    return [lsp.TextEdit(range=units.range(r.line, r.start, r.line, r.end), new_text=new_text) for r in ranges]


def _encode_tokens(units: _Units, tokens) -> list[int]:
    """LSP's relative encoding: line delta, start delta, length, type, modifier bits (UTF-16)."""
    data, last_line, last_start = [], 0, 0
    for line, start, end, kind, modifiers in tokens:
        p0, p1 = units.position(line, start), units.position(line, end)
        bits = sum(1 << editing.TOKEN_MODIFIERS.index(m) for m in modifiers)
        delta_line = p0.line - last_line
        data += [delta_line, p0.character - (last_start if delta_line == 0 else 0), p1.character - p0.character,
                 editing.TOKEN_TYPES.index(kind), bits]
        last_line, last_start = p0.line, p0.character
    return data


def _location(doc: TextDocument, a: Analysis, place: Place) -> Optional[lsp.Location]:
    if place.file == a.path:
        return lsp.Location(uri=doc.uri, range=_units(doc).range(place.line, place.column, place.line, place.end_column))
    path = file_path(place.file, str(Path(a.path).parent))
    try:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    except (OSError, UnicodeDecodeError):
        return None
    rng = _Units(doc.position_codec, lines).range(place.line, place.column, place.line, place.end_column)
    return lsp.Location(uri=path.resolve().as_uri(), range=rng)


def _document_symbol(units: _Units, s: Symbol) -> lsp.DocumentSymbol:
    line, start, end = s.head
    return lsp.DocumentSymbol(
        name=s.name, detail=s.detail, kind=_SYMBOL_KIND[s.kind],
        range=units.range(line, start, s.end_line, s.end_column),
        selection_range=units.range(line, start, line, end),
        children=[_document_symbol(units, c) for c in s.children] or None,
    )


def serve(stdin=None, stdout=None, lang: Optional[str] = None) -> None:
    """Run the language server on stdin/stdout until the client says exit.

    The client's input goes through FrameReader first: bounded, and resynchronising after a
    malformed frame (see lsp_frames.py)."""
    server = create_server()
    server.lang = lang
    reader = FrameReader(stdin or sys.stdin.buffer, on_garbage=server.protocol.garbage)
    server.start_io(reader, stdout or sys.stdout.buffer)

"""Checks of the fields of client events (session objects, responses, items, tools): each
returns the value to store or raises ClientError addressed to the field as the client wrote it."""

from __future__ import annotations

import json
from typing import Any

from .protocol import ToolCall, format_from_ga, new_id
from .speech import OUTPUT_RATE

MAX_TEXT = 20_000          # characters of any one text: a message, instructions, a tool output
MAX_NAME = 64              # voices, ids and other short strings
MAX_TOOLS = 128            # tool definitions in a session or a response
MAX_SESSION_JSON = 256_000  # bytes of one session object (tools with big schemas included)
FORMATS = ("pcm16", "g711_ulaw", "g711_alaw")
SPEED_RANGE = (0.25, 1.5)
_ABSENT = object()


class ClientError(Exception):
    def __init__(self, message: str, code: str = "invalid_value", param: str | None = None) -> None:
        super().__init__(message)
        self.code, self.param = code, param



def _short(value: Any, limit: int = 40) -> str:
    """A client value quoted in an error message: as text, and short."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "…"



def _check_session_object(s: dict[str, Any], beta: bool) -> None:
    if len(json.dumps(s, default=str)) > MAX_SESSION_JSON:
        raise ClientError(f"The session object is too large (at most {MAX_SESSION_JSON} bytes).",
                          "string_above_max_length", "session")
    if not beta and s.get("type", "realtime") != "realtime":
        raise ClientError(f"Invalid value: '{_short(s.get('type'))}'. The local engine opens 'realtime' "
                          "sessions only.", param="session.type")


def _audio_changes(s: dict[str, Any], audio: dict[str, Any], out: dict[str, Any], beta: bool) -> dict[str, Any]:
    """Formats, voice and speed: beta names at the top level, GA names under `audio`."""
    ch: dict[str, Any] = {}
    fmt = _format(s, out, "output_audio_format", "session", "output")
    if fmt is not None:
        ch["audio_format"] = fmt
    fmt = _format(s, audio, "input_audio_format", "session", "input")
    if fmt is not None:
        ch["input_format"] = fmt
    voice_param = "session.voice" if "voice" in s else "session.audio.output.voice"
    voice = _voice(s.get("voice", out.get("voice")), voice_param, allow_custom=not beta)
    if voice is not None:
        ch["voice"] = voice
    speed = s.get("speed", out.get("speed"))
    if speed is not None:
        ch["speed"] = _speed(speed, "session.speed" if "speed" in s else "session.audio.output.speed")
    return ch


def _input_audio_settings(s: dict[str, Any], audio: dict[str, Any]) -> dict[str, Any]:
    """Kept as given (the engine takes no audio input): the beta name wins over the GA one."""
    ch: dict[str, Any] = {}
    for attr, ga_value, beta_key in (("turn_detection", audio.get("turn_detection", _ABSENT), "turn_detection"),
                                     ("transcription", audio.get("transcription", _ABSENT),
                                      "input_audio_transcription"),
                                     ("noise_reduction", audio.get("noise_reduction", _ABSENT),
                                      "input_audio_noise_reduction")):
        value = s.get(beta_key, ga_value) if beta_key in s else ga_value
        if value is not _ABSENT:
            ch[attr] = value
    return ch


def _audio_part(params: dict[str, Any], where: str, side: str) -> dict[str, Any]:
    """`audio.input` or `audio.output` of a GA session or response ({} when absent)."""
    audio = params.get("audio")
    if audio is None:
        return {}
    if not isinstance(audio, dict):
        raise ClientError(f"'{where}.audio' must be an object.", param=f"{where}.audio")
    part = audio.get(side)
    if part is None:
        return {}
    if not isinstance(part, dict):
        raise ClientError(f"'{where}.audio.{side}' must be an object.", param=f"{where}.audio.{side}")
    return part


def _format(params: dict[str, Any], part: dict[str, Any], beta_key: str, where: str, side: str) -> str | None:
    """An audio format by its beta name or its GA object, as the beta name."""
    fmt = params.get(beta_key)
    param = f"{where}.{beta_key}"
    if part.get("format") is not None:
        fmt, param = format_from_ga(part["format"]), f"{where}.audio.{side}.format"
        if fmt is None:
            raise ClientError(f"Invalid value for '{param}'.", param=param)
        if fmt == "pcm16" and part["format"].get("rate", OUTPUT_RATE) != OUTPUT_RATE:
            raise ClientError("audio/pcm is 24000 Hz only.", param=f"{param}.rate")
    if fmt is not None and fmt not in FORMATS:
        raise ClientError(f"Invalid value: '{_short(fmt)}'. Supported values are: {', '.join(FORMATS)}.",
                          param=param)
    return fmt


def _voice(value: Any, param: str, allow_custom: bool = False) -> Any:
    """A voice name; a GA custom voice object {"id": …} is kept and echoed, and spoken with the
    engine's default voice (the engine has no custom voices)."""
    if value is None:
        return None
    if allow_custom and isinstance(value, dict):
        if set(value) != {"id"} or not isinstance(value["id"], str) or not value["id"] \
                or len(value["id"]) > MAX_NAME:
            raise ClientError(f"Invalid value for 'voice': a custom voice is {{\"id\": \"…\"}} with an id of at most "
                              f"{MAX_NAME} characters.", param=param)
        return dict(value)
    if not isinstance(value, str) or not value or len(value) > MAX_NAME:
        raise ClientError(f"Invalid value for 'voice': a name of at most {MAX_NAME} characters"
                          + (" or a custom voice {\"id\": \"…\"}." if allow_custom else "."), param=param)
    return value


def _speed(value: Any, param: str) -> float:
    lo, hi = SPEED_RANGE
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise ClientError(f"Invalid value for 'speed': a number from {lo} to {hi}.", param=param)
    return float(value)


def _name(value: Any, param: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_NAME:
        raise ClientError(f"Invalid value for '{param.rsplit('.', 1)[-1]}': a string of 1 to {MAX_NAME} characters.",
                          "invalid_value" if value is not None else "missing_required_parameter", param)
    return value


def _tools(value: Any, param: str) -> list[Any]:
    """Tool definitions, kept as given; the engine calls one only when a test asks (fault `call_tool`)."""
    if not isinstance(value, list):
        raise ClientError("'tools' must be a list.", param=param)
    if len(value) > MAX_TOOLS:
        raise ClientError(f"At most {MAX_TOOLS} tools.", "array_above_max_length", param)
    names = set()
    for i, tool in enumerate(value):
        if not isinstance(tool, dict):
            raise ClientError("Each tool is an object.", param=f"{param}[{i}]")
        if tool.get("type", "function") == "function":
            name = _name(tool.get("name"), f"{param}[{i}].name")
            if name in names:
                raise ClientError(f"Duplicate tool name '{name}'.", param=f"{param}[{i}].name")
            names.add(name)
    return value


def _max_tokens(value: Any, param: str) -> Any:
    if value == "inf":
        return value
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4096:
        raise ClientError("Invalid value for 'max_output_tokens': a whole number from 1 to 4096, or 'inf'.",
                          param=param)
    return value


def _temperature(params: dict[str, Any], default: float) -> float:
    t = params.get("temperature")
    return float(t) if isinstance(t, (int, float)) and not isinstance(t, bool) else default


def _tool_call(spec: dict[str, Any], tools: list[Any], tool_choice: Any) -> ToolCall:
    """The call a test asked for, to a function the session or the response defines."""
    defined = {t.get("name") for t in tools if isinstance(t, dict) and t.get("type", "function") == "function"}
    param = "response.metadata.verbatim_fault"
    if spec["name"] not in defined:
        raise ClientError(f"call_tool: no function tool named '{_short(spec['name'])}' is defined "
                          f"(defined: {', '.join(sorted(defined)) or 'none'}).", param=param)
    if tool_choice == "none":
        raise ClientError("call_tool: tool_choice is 'none'.", param=param)
    return ToolCall(call_id=new_id("call"), name=spec["name"], arguments=spec["arguments"])



def _session_type(beta: bool) -> type:
    if beta:
        from openai.types.beta.realtime.session import Session

        return Session
    from openai.types.realtime import RealtimeSessionCreateRequest

    return RealtimeSessionCreateRequest


def _response_type(beta: bool) -> type:
    if beta:
        from openai.types.beta.realtime.response_create_event import Response

        return Response
    from openai.types.realtime import RealtimeResponseCreateParams

    return RealtimeResponseCreateParams


def _sdk_check(model: type, value: dict[str, Any], where: str) -> None:
    """The fields the engine only stores and echoes, checked against the openai SDK's own types,
    and a failure addressed to the field as the client wrote it."""
    import pydantic

    try:
        model.model_validate(value)
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        path, node = where, value
        for part in err.get("loc", ()):
            if isinstance(node, dict) and part in node:
                path, node = f"{path}.{part}", node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                path, node = f"{path}[{part}]", node[part]
            else:
                break
        raise ClientError(f"Invalid value for '{path}': {err.get('msg', 'not valid')}.", param=path) from exc


def _modalities(value: Any, param: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if (not isinstance(value, list) or not value or not all(isinstance(m, str) for m in value)
            or not set(value) <= {"text", "audio"}):
        raise ClientError("Invalid modalities: use 'text' and/or 'audio'.", param=param)
    return ("text",) if value == ["text"] else ("text", "audio")


def _instructions(value: Any, param: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ClientError("'instructions' must be a string.", param=param)
    if len(value) > MAX_TEXT:
        raise ClientError(f"The instructions are too long ({len(value)} characters; at most {MAX_TEXT}).",
                          "string_above_max_length", param)
    return value


def _message_text(item: dict[str, Any], where: str, default_role: str | None = None) -> tuple[str, str]:
    """(text, role) of a message item, every part checked and the whole at most MAX_TEXT."""
    if item.get("type") != "message":
        raise ClientError("Only 'message' items are supported by the local engine.", param=f"{where}.type")
    role = item.get("role", default_role)
    if role not in ("user", "system", "assistant"):
        raise ClientError(f"Invalid value: '{_short(role)}'. Supported values are: user, system, assistant.",
                          param=f"{where}.role")
    content = item.get("content")
    if not isinstance(content, list) or not content:
        raise ClientError(f"Missing required parameter: '{where}.content'.", "missing_required_parameter",
                          f"{where}.content")
    texts, size = [], 0
    for i, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") not in ("input_text", "text", "output_text"):
            raise ClientError("Content parts must be text ('input_text').", param=f"{where}.content[{i}].type")
        t = part.get("text")
        if not isinstance(t, str):
            raise ClientError("Missing required parameter: 'text' (a string).", "missing_required_parameter",
                              f"{where}.content[{i}].text")
        size += len(t)
        if size > MAX_TEXT:
            raise ClientError(f"The text is too long (more than {MAX_TEXT} characters).",
                              "string_above_max_length", f"{where}.content")
        texts.append(t)
    return "".join(texts), role


"""ID numbers and phones in the lake are pseudonyms: deterministic, keyed, reversible by the service alone.

The lake is read by engines that join on these columns (DuckDB here, Spark in a province), so its values
must stay equal where the people are equal, yet a copy of the lake's files must not hold a whole ID
number or phone. Each value is packed into one 16-byte block (an 18-character ID number is a 60-bit
integer; a phone's digits, up to 19, fit in 64 bits with their count) beside a fixed tag, and that block is
encrypted with AES-256 under the `lake_key` secret. One block under one key is a keyed permutation: equal
inputs give equal pseudonyms, different inputs never collide, nothing about the value shows without the
key, and the service turns a pseudonym back into the value when a warning, a department's own rejected
rows or the linkage app needs it. (A keyed hash would do for joins alone, but could not be turned back.)

A pseudonym is 33 letters: `I…` for an ID number, `P…` for a phone, then the block, a letter per half byte
(never a digit, so nothing in the lake reads as a number). The work is done on
whole Arrow arrays with numpy and one AES call per array: tens of millions of values a second.

Phones are normalised first (digits only; a leading 86 country code on a 13-digit number dropped), the
way the screening compared them, so equal phones written differently stay equal.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from safetynet import conf
from safetynet.access.encryption import derive

ID_TAG = b"snID v1"  # 9 bytes of ID number + 7 of tag
PHONE_TAG = b"snPHv1"  # 10 bytes of phone + 6 of tag
TAGS = {"I": (9, ID_TAG), "P": (10, PHONE_TAG)}  # where each kind's tag starts in its block
# A pseudonym's 16 bytes are written as 32 letters, a letter per half byte (hex with letters for digits):
# no pseudonym holds a digit, so no run of digits in the lake can be taken for an ID number or a phone.
LETTERS = "ABCDEFGHJKLMNPQR"
TO_LETTERS = str.maketrans("0123456789abcdef", LETTERS)
FROM_LETTERS = str.maketrans(LETTERS, "0123456789abcdef")
TOKEN_LENGTH = 33
PHONE_DIGITS_MAX = 20
FILLER = "?"  # pads a phone to 20 digits; ord("?") - 48 = 15, the half byte no digit uses
NIBBLE_TEXT = np.frombuffer(b"0123456789X?????", dtype=np.uint8)


class BadPseudonym(ValueError):
    """Not a pseudonym this service made (another key, or altered)."""


@cache
def _key(secret: str) -> bytes:
    return derive(secret, b"safetynet lake pseudonyms v1")


def _current() -> bytes:
    # Called for every vector of every ingest: the key file is read again only when it changed.
    path = conf.keys_dir() / "lake_key"
    try:
        stat = path.stat()
    except FileNotFoundError:
        conf.secret("lake_key")
        stat = path.stat()
    return _key_from_file(str(path), stat.st_mtime_ns, stat.st_size)


@cache
def _key_from_file(path: str, _mtime: int, _size: int) -> bytes:
    return _key(Path(path).read_text().strip())


def _aes(blocks: np.ndarray, decrypt: bool = False, key: bytes | None = None) -> np.ndarray:
    # Each value is one whole block, encrypted alone on purpose: deterministic is what joins need, and with
    # no second block there is no pattern across blocks for ECB to show.
    cipher = Cipher(algorithms.AES(key or _current()), modes.ECB())  # noqa: S305
    op = cipher.decryptor() if decrypt else cipher.encryptor()
    out = op.update(blocks.tobytes()) + op.finalize()
    return np.frombuffer(out, dtype=np.uint8).reshape(-1, 16)


def _as_tokens(letter: str, blocks: np.ndarray) -> pa.Array:
    n = len(blocks)
    text = np.empty((n, TOKEN_LENGTH), dtype=np.uint8)
    text[:, 0] = ord(letter)
    letters = blocks.tobytes().hex().translate(TO_LETTERS)
    text[:, 1:] = np.frombuffer(letters.encode(), dtype=np.uint8).reshape(n, 32)
    offsets = np.arange(0, (n + 1) * TOKEN_LENGTH, TOKEN_LENGTH, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(text.tobytes())])


def _fixed(values: pa.Array, width: int) -> np.ndarray:
    """Strings all `width` bytes long as an (n, width) byte matrix."""
    fixed = values.cast(pa.binary()).cast(pa.binary(width))
    data = np.frombuffer(fixed.buffers()[1], dtype=np.uint8)
    return data[fixed.offset * width : (fixed.offset + len(fixed)) * width].reshape(-1, width)


def _blocks(text: np.ndarray, tag: bytes) -> np.ndarray:
    """Rows of digits ('0'–'9', 'X' as 10, FILLER as 15), two a byte, then the tag."""
    nibbles = text - np.uint8(48)
    nibbles[text == ord("X")] = 10
    packed = (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]
    blocks = np.empty((len(text), 16), dtype=np.uint8)
    blocks[:, : packed.shape[1]] = packed
    blocks[:, packed.shape[1] :] = np.frombuffer(tag, dtype=np.uint8)
    return blocks


def _unpacked(blocks: np.ndarray, width: int) -> list[str]:
    packed = blocks[:, : width // 2]
    nibbles = np.empty((len(blocks), width), dtype=np.uint8)
    nibbles[:, 0::2] = packed >> 4
    nibbles[:, 1::2] = packed & 15
    return [row.tobytes().decode().replace(FILLER, "") for row in NIBBLE_TEXT[nibbles]]


def _fallback(letter: str, value: str, key: bytes | None = None) -> str:
    """A value no block can hold (malformed, too long): a keyed hash, one way, still equal for equals."""
    digest = hmac.new(key or _current(), f"{letter}:{value}".encode(), hashlib.sha256).hexdigest().translate(TO_LETTERS)
    return "H" + digest[: TOKEN_LENGTH - 1]


def _replace(values: pa.Array, mask: pa.Array, tokens: pa.Array) -> pa.Array:
    return pc.replace_with_mask(values, mask, tokens) if len(tokens) < len(values) else tokens


def _all_ids(values: pa.Array) -> np.ndarray | None:
    """The (n, 18) bytes of a vector that holds only well-formed ID numbers, else None. The common case
    (ingest calls this on validated rows, 2,048 at a time) costs a few numpy operations, no Arrow kernels."""
    if values.null_count or not len(values):
        return None
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[values.offset : values.offset + len(values) + 1]
    if offsets[-1] - offsets[0] != 18 * len(values) or (np.diff(offsets) != 18).any():
        return None
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]].reshape(-1, 18).copy()
    data[:, 17][data[:, 17] == ord("x")] = ord("X")
    digits = (data >= 48) & (data <= 57)
    if not (digits[:, :17].all() and (digits[:, 17] | (data[:, 17] == ord("X"))).all()):
        return None
    return data


def id_numbers(values: pa.Array | pa.ChunkedArray, key: bytes | None = None) -> pa.Array:
    """Pseudonyms for ID numbers (upper-cased first); NULL and '' stay as they are."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    values = values.cast(pa.string())
    if (whole := _all_ids(values)) is not None:
        return _as_tokens("I", _aes(_blocks(whole, ID_TAG), key=key))
    values = pc.utf8_upper(values)
    shaped = pc.fill_null(pc.match_substring_regex(values, r"^[0-9]{17}[0-9X]$"), False)
    out = values
    if pc.any(shaped).as_py():
        blocks = _blocks(_fixed(values.filter(shaped), 18), ID_TAG)
        out = _replace(values, shaped, _as_tokens("I", _aes(blocks, key=key)))
    odd = pc.and_(pc.invert(shaped), pc.fill_null(pc.greater(pc.utf8_length(values), 0), False))
    if pc.any(odd).as_py():
        hashed = pa.array([_fallback("I", v, key) for v in values.filter(odd).to_pylist()], pa.string())
        out = pc.replace_with_mask(out, odd, hashed)
    return out


def of_one_argument(make: Callable[..., pa.Array]) -> Callable[[pa.Array], pa.Array]:
    """`id_numbers` or `phones` as a SQL function takes them (DuckDB binds a Python function by its whole
    signature, so the optional key may not show): always under the current key."""

    def pseudonymise(values: pa.Array) -> pa.Array:
        return make(values)

    return pseudonymise


def normalised_phones(values: pa.Array) -> pa.Array:
    """Digits only (full-width ones typed on a Chinese keyboard, １３８…, counted as digits); a 13-digit
    number starting 86 loses its country code."""
    digits = pc.replace_substring_regex(pc.utf8_normalize(values.cast(pa.string()), "NFKC"), r"[^0-9]", "")
    national = pc.and_(pc.equal(pc.utf8_length(digits), 13), pc.starts_with(digits, "86"))
    return pc.if_else(pc.fill_null(national, False), pc.utf8_slice_codeunits(digits, 2), digits)


def phones(values: pa.Array | pa.ChunkedArray, key: bytes | None = None) -> pa.Array:
    """Pseudonyms for phones, normalised first; NULL stays NULL and a phone without digits becomes NULL."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    digits = normalised_phones(values)
    lengths = pc.utf8_length(digits)
    digits = pc.if_else(pc.fill_null(pc.equal(lengths, 0), False), pa.scalar(None, pa.string()), digits)
    fits = pc.fill_null(pc.less_equal(lengths, PHONE_DIGITS_MAX), False)
    fits = pc.and_(fits, pc.is_valid(digits))
    out = digits
    if pc.any(fits).as_py():
        padded = pc.utf8_lpad(digits.filter(fits), PHONE_DIGITS_MAX, FILLER)
        blocks = _blocks(_fixed(padded, PHONE_DIGITS_MAX), PHONE_TAG)
        out = _replace(digits, fits, _as_tokens("P", _aes(blocks, key=key)))
    long = pc.and_(pc.invert(fits), pc.is_valid(digits))
    if pc.any(long).as_py():
        hashed = pa.array([_fallback("P", v, key) for v in digits.filter(long).to_pylist()], pa.string())
        out = pc.replace_with_mask(out, long, hashed)
    return out


def _block_bytes(tokens: list[str]) -> np.ndarray:
    try:
        raw = bytes.fromhex("".join(t[1:] for t in tokens).translate(FROM_LETTERS))
    except ValueError:
        raise BadPseudonym("不是本系统生成的化名") from None
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, 16)


def _decrypted(tokens: list[str]) -> np.ndarray:
    return _aes(_block_bytes(tokens), decrypt=True)


LETTER_SET = frozenset(LETTERS)


def _shaped(value: object, letter: str) -> bool:
    return (
        isinstance(value, str) and len(value) == TOKEN_LENGTH and value[0] == letter and set(value[1:]) <= LETTER_SET
    )


def _reveal(tokens: list[str], letter: str, width: int, strict: bool) -> list[str]:
    at = [i for i, t in enumerate(tokens) if _shaped(t, letter)]
    out = list(tokens)
    if not at:
        return out
    blocks = _decrypted([tokens[i] for i in at])
    under = _under(blocks, letter)
    if strict and not under.all():
        raise BadPseudonym("化名由另一把密钥生成，无法还原")
    for i, value, ours in zip(at, _unpacked(blocks, width), under.tolist(), strict=True):
        if ours:  # in a column of any text, a value that only looks like a pseudonym stays as it is
            out[i] = value
    return out


def reveal_ids(tokens: list[str], strict: bool = True) -> list[str]:
    """ID numbers back from their pseudonyms (other values are returned as they are). `strict`: the column
    holds pseudonyms, so one this key did not make is an error, not a value."""
    return _reveal(tokens, "I", 18, strict)


def reveal_phones(tokens: list[str], strict: bool = True) -> list[str]:
    """Phones (normalised digits) back from their pseudonyms (other values are returned as they are)."""
    return _reveal(tokens, "P", PHONE_DIGITS_MAX, strict)


def _under(blocks: np.ndarray, letter: str) -> np.ndarray:
    """Which decrypted blocks carry their tag: those sealed under the key they were decrypted with."""
    start, tag = TAGS[letter]
    return (blocks[:, start:] == np.frombuffer(tag, dtype=np.uint8)).all(axis=1)  # type: ignore[no-any-return]


def revealed(table: pa.Table) -> pa.Table:
    """Landed rows with their ID numbers and phones as the department sent them (phones normalised), in
    the spec's columns and in extra ones alike."""
    for i, name in enumerate(table.column_names):
        if pa.types.is_string(table.schema.field(i).type):
            values = reveal_phones(reveal_ids(table.column(i).to_pylist(), strict=False), strict=False)
            table = table.set_column(i, name, pa.array(values, pa.string()))
    return table


# -- quarantine: rejected rows kept as sent, sealed --------------------------------------------------------
# A rejected row is kept as the department sent it, so it can be corrected and sent again: its text may hold
# any ID number or phone, well-formed or not, so it is encrypted whole (AES-256-GCM, random nonce) rather
# than pseudonymised. Only the service opens it, for the department that sent it and the data admins.

SEALED = "S1:"


@cache
def _text_key(secret: str) -> AESGCM:
    return AESGCM(derive(secret, b"safetynet quarantine v1"))


def seal_texts(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Each text encrypted on its own (NULL stays NULL)."""
    aead = _text_key(conf.secret("lake_key"))
    out: list[str | None] = []
    for value in values.to_pylist():
        if value is None:
            out.append(None)
            continue
        nonce = os.urandom(12)
        out.append(SEALED + base64.b64encode(nonce + aead.encrypt(nonce, value.encode(), None)).decode())
    return pa.array(out, pa.string())


def open_text(value: str | None) -> str | None:
    """A sealed text opened (text written before sealing existed is returned as it is)."""
    if value is None or not value.startswith(SEALED):
        return value
    blob = base64.b64decode(value[len(SEALED) :])
    try:
        return _text_key(conf.secret("lake_key")).decrypt(blob[:12], blob[12:], None).decode()
    except Exception as exc:  # InvalidTag: changed, or sealed under another key
        raise BadPseudonym("隔离记录无法解密（密钥不符或内容被改动）") from exc


SEALED_COLUMNS = ("reason", "raw")


def sealed(table: pa.Table) -> pa.Table:
    """A quarantine table with its free-text columns sealed."""
    for name in SEALED_COLUMNS:
        if name in table.column_names:
            i = table.column_names.index(name)
            table = table.set_column(i, name, seal_texts(table.column(name)))
    return table


class SealingWriter:
    """A Parquet writer for quarantine files: seals `reason` and `raw` of every table written."""

    def __init__(self, writer: pq.ParquetWriter):
        self.writer = writer

    def write_table(self, table: pa.Table) -> None:
        self.writer.write_table(sealed(table))

    def write_sealed_batch(self, batch: pa.RecordBatch) -> None:
        """A batch read back from another sealed file: written as it is."""
        self.writer.write_batch(batch)


# -- rotation ---------------------------------------------------------------------------------------------

def _rekeyed(values: list[str | None], old: bytes, new: bytes) -> list[str | None]:
    """A column's pseudonyms moved from `old` to `new` (those already under `new` are kept, so a rotation
    can run again after a crash); other values are left as they are."""
    out = list(values)
    for letter in TAGS:
        at = [i for i, v in enumerate(values) if _shaped(v, letter)]
        if not at:
            continue
        sealed = _block_bytes([values[i] for i in at])  # type: ignore[misc]
        done = _under(_aes(sealed, decrypt=True, key=new), letter)
        plain = _aes(sealed, decrypt=True, key=old)
        move = ~done & _under(plain, letter)  # neither key's: text that only looks like one, kept
        moved = iter(_as_tokens(letter, _aes(plain[move], key=new)).to_pylist())
        for i, flag in zip(at, move.tolist(), strict=True):
            if flag:
                out[i] = next(moved)
    return out


def _reseal(value: str | None, old: AESGCM, new: AESGCM) -> str | None:
    if value is None or not value.startswith(SEALED):
        return value
    blob = base64.b64decode(value[len(SEALED) :])
    for aead in (new, old):
        try:
            text = aead.decrypt(blob[:12], blob[12:], None)
        except Exception:  # noqa: S112 - InvalidTag: try the other key
            continue
        if aead is new:
            return value
        nonce = os.urandom(12)
        return SEALED + base64.b64encode(nonce + new.encrypt(nonce, text, None)).decode()
    raise BadPseudonym("隔离记录既不属于旧密钥也不属于新密钥，未轮换")


def rotate(fs, root: str) -> int:  # type: ignore[no-untyped-def]
    """Move every Parquet file of the lake to a new lake key: pseudonyms re-encrypted, quarantined text
    sealed again, each file replaced whole. The new key waits as `lake_key.next` until every file is
    done, so running it again after a crash finishes the job. Run it with the service stopped: a batch
    landing meanwhile would be under the old key. Returns how many files were rewritten."""
    keys = conf.keys_dir()
    conf.secret("lake_key")
    pending = keys / "lake_key.next"
    if not pending.exists():
        fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(50))
    old_secret, new_secret = (keys / "lake_key").read_text().strip(), pending.read_text().strip()
    old, new = _key(old_secret), _key(new_secret)
    old_text, new_text = _text_key(old_secret), _text_key(new_secret)
    done: set[str] = set()
    while todo := sorted(set(fs.glob(f"{root}/**/*.parquet")) - done):  # again: a batch that landed meanwhile
        for path in todo:
            _rotate_file(fs, path, old, new, old_text, new_text)
            done.add(path)
    os.replace(pending, keys / "lake_key")
    return len(done)


# The columns that hold pseudonyms, by name (feeds, registry snapshots, resolved calls): the registry
# snapshot writes them so, and a clear value left by a version before pseudonyms is turned into one by the
# next rotation.
CLEAR_TO_PSEUDONYM = {"id_number": id_numbers, "head_id_number": id_numbers, "phone": phones, "caller_phone": phones}


def _pseudonymised(values: list[str | None], make, key: bytes) -> list[str | None]:  # type: ignore[no-untyped-def]
    """The clear values of a column that must hold pseudonyms, made pseudonyms under `key`."""
    clear = [v is not None and not (_shaped(v, "I") or _shaped(v, "P") or v.startswith("H")) for v in values]
    if not any(clear):
        return values
    made = iter(make(pa.array([v for v, c in zip(values, clear, strict=True) if c], pa.string()), key).to_pylist())
    return [next(made) if c else v for v, c in zip(values, clear, strict=True)]


def _rotate_file(fs, path: str, old: bytes, new: bytes, old_text: AESGCM, new_text: AESGCM) -> None:  # type: ignore[no-untyped-def]
    table = pq.read_table(path, filesystem=fs)
    columns = []
    for i, name in enumerate(table.column_names):
        column = table.column(i)
        if pa.types.is_string(column.type):
            values = column.to_pylist()
            if name in SEALED_COLUMNS:
                values = [_reseal(v, old_text, new_text) for v in values]
            values = _rekeyed(values, old, new)
            if name in CLEAR_TO_PSEUDONYM:
                values = _pseudonymised(values, CLEAR_TO_PSEUDONYM[name], new)
            column = pa.array(values, pa.string())
        columns.append(column)
    temporary = f"{path}.rotating"
    with fs.open(temporary, "wb") as f:
        pq.write_table(pa.Table.from_arrays(columns, schema=table.schema), f)
    fs.mv(temporary, path)  # a file is always whole, under one key or the other

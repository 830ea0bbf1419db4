//! A pickle machine for what `torch.save` writes: it executes the opcodes of pickle
//! protocols 2 to 4 (torch writes protocol 2) into a graph of plain values, and imports
//! nothing: a global (`torch._utils._rebuild_tensor_v2`, `collections.OrderedDict`,
//! `torch.FloatStorage`, ...) becomes a name, a call (`REDUCE`, `NEWOBJ`) a record of
//! the callable and its arguments, and a persistent id (`BINPERSID`, how torch refers to
//! a storage) a record of the id. What those mean is decided afterwards, by the code that
//! reads tensors out of the graph (`tensors.rs`).
//!
//! Why not a crate: serde-pickle (the maintained general one) has no persistent ids
//! (`BINPERSID` is an unsupported opcode there), and turns the call of a global it does
//! not know, such as `_rebuild_tensor_v2`, into an error or `None`, dropping its
//! arguments (the storage, offset, shape and strides); candle's reader is a module of
//! candle-core (a whole tensor library to depend on); repugnant-pickle is a 0.0.1
//! best-effort scraper. A machine over the ~50 opcodes, with torch's meaning kept out of
//! it, is short and can be fuzzed.
//!
//! Safety against hostile input: objects live in one arena and values refer to them by
//! index, so `BINGET` (the memo) and `DUP` copy a small value, never an object (no
//! exponential blow-up through shared references, and cycles are harmless); every
//! object is made by one opcode, so the arena, the stack and the memo grow at most
//! linearly with the input; lengths are checked against the bytes left before anything
//! is read; nothing recurses.

use super::error::{corrupt, unsupported, Problem};
use std::collections::HashMap;

/// A value on the stack, in a container or in the memo: small and `Copy`; objects are
/// referred to by their index in [`Pickle::objects`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An integer that does not fit in an `i64` (kept only to be described in errors).
    BigInt,
    Float(f64),
    Obj(usize),
}

/// An object made by the pickle.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Obj {
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// A dict (also an `OrderedDict`): its items in the order the pickle set them (a key
    /// set twice is there twice; the reader of the graph decides what that means).
    Dict(Vec<(Value, Value)>),
    Set(Vec<Value>),
    /// A module-level name (`GLOBAL`, `STACK_GLOBAL`), not imported: the module and
    /// the name refer to strings (shared, not copied: `STACK_GLOBAL` takes them from the
    /// stack, where the memo can put the same long string any number of times).
    Global {
        module: Value,
        name: Value,
    },
    /// The result of calling `callable` with `args` (`REDUCE`, `NEWOBJ`), not called;
    /// `state` is what `BUILD` gave it.
    Call {
        callable: Value,
        args: Value,
        state: Option<Value>,
    },
    /// A persistent id (`BINPERSID`): torch's reference to a storage.
    Persistent(Value),
}

/// An executed pickle: its objects and the value `STOP` returned.
#[derive(Debug)]
pub(crate) struct Pickle {
    pub objects: Vec<Obj>,
    pub root: Value,
}

impl Pickle {
    /// The object a value refers to (`None` for a plain value).
    pub(crate) fn obj(&self, v: Value) -> Option<&Obj> {
        match v {
            Value::Obj(i) => self.objects.get(i),
            _ => None,
        }
    }

    /// The string a value refers to.
    pub(crate) fn str(&self, v: Value) -> Option<&str> {
        match self.obj(v)? {
            Obj::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The `(module, name)` of a global.
    pub(crate) fn global(&self, v: Value) -> Option<(&str, &str)> {
        global_name(&self.objects, v)
    }

    /// The items of a tuple (or a list).
    pub(crate) fn items(&self, v: Value) -> Option<&[Value]> {
        match self.obj(v)? {
            Obj::Tuple(t) | Obj::List(t) => Some(t),
            _ => None,
        }
    }

    /// A short description of a value for error messages (never recursive, so never
    /// long).
    pub(crate) fn describe(&self, v: Value) -> String {
        describe(&self.objects, v)
    }
}

/// A short description of a value for error messages (never recursive, so never long).
fn describe(objects: &[Obj], v: Value) -> String {
    match v {
        Value::None => "None".into(),
        Value::Bool(b) => if b { "True" } else { "False" }.into(),
        Value::Int(i) => format!("the integer {i}"),
        Value::BigInt => "an integer beyond 64 bits".into(),
        Value::Float(f) => format!("the float {f}"),
        Value::Obj(i) => match objects.get(i) {
            None => "nothing".into(),
            Some(Obj::Str(s)) => format!("the string {:?}", truncate(s)),
            Some(Obj::Bytes(b)) => format!("{} bytes", b.len()),
            Some(Obj::Tuple(t)) => format!("a tuple of {} items", t.len()),
            Some(Obj::List(t)) => format!("a list of {} items", t.len()),
            Some(Obj::Dict(d)) => format!("a dict of {} entries", d.len()),
            Some(Obj::Set(s)) => format!("a set of {} items", s.len()),
            Some(Obj::Global { .. }) => match global_name(objects, v) {
                Some((m, n)) => format!("the global {}.{}", truncate(m), truncate(n)),
                None => "a global".into(),
            },
            Some(Obj::Call { callable, .. }) => match global_name(objects, *callable) {
                Some((m, n)) => format!("a call of {}.{}", truncate(m), truncate(n)),
                None => "a call".into(),
            },
            Some(Obj::Persistent(_)) => "a persistent id".into(),
        },
    }
}

/// The `(module, name)` of a global whose parts are strings.
fn global_name(objects: &[Obj], v: Value) -> Option<(&str, &str)> {
    let get = |v: Value| match v {
        Value::Obj(i) => objects.get(i),
        _ => None,
    };
    match get(v)? {
        Obj::Global { module, name } => match (get(*module)?, get(*name)?) {
            (Obj::Str(m), Obj::Str(n)) => Some((m.as_str(), n.as_str())),
            _ => None,
        },
        _ => None,
    }
}

/// At most 60 characters of a string, for messages.
fn truncate(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The machine's state while it runs.
struct Machine<'a> {
    input: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    /// Stack lengths at each open `MARK`.
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
    objects: Vec<Obj>,
}

/// Executes `input` (the whole of `data.pkl`) up to its `STOP`. Bytes after the `STOP`
/// are an error (torch writes none).
pub(crate) fn run(input: &[u8]) -> Result<Pickle, Problem> {
    let (pickle, end) = run_prefix(input)?;
    if end != input.len() {
        return Err(corrupt(format!(
            "{} bytes after the pickle's STOP at byte {}",
            input.len() - end,
            end - 1
        )));
    }
    Ok(pickle)
}

/// Executes one pickle at the start of `input`; returns it and the offset just after its
/// `STOP`.
pub(crate) fn run_prefix(input: &[u8]) -> Result<(Pickle, usize), Problem> {
    let mut m = Machine {
        input,
        pos: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        objects: Vec::new(),
    };
    loop {
        let at = m.pos;
        let Some(&op) = input.get(at) else {
            return Err(corrupt(format!(
                "the pickle ends at byte {at} without a STOP opcode (truncated?)"
            )));
        };
        m.pos += 1;
        match m.step(op) {
            Ok(Flow::Continue) => {}
            Ok(Flow::Stop(root)) => {
                let pickle = Pickle {
                    objects: m.objects,
                    root,
                };
                return Ok((pickle, m.pos));
            }
            Err(p) => return Err(p.at(&format!("pickle byte {at}, opcode {}", op_name(op)))),
        }
    }
}

enum Flow {
    Continue,
    Stop(Value),
}

/// The names of the opcodes, for messages.
fn op_name(op: u8) -> String {
    let name = match op {
        b'(' => "MARK",
        b'.' => "STOP",
        b'0' => "POP",
        b'1' => "POP_MARK",
        b'2' => "DUP",
        b'F' => "FLOAT",
        b'I' => "INT",
        b'J' => "BININT",
        b'K' => "BININT1",
        b'L' => "LONG",
        b'M' => "BININT2",
        b'N' => "NONE",
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        b'R' => "REDUCE",
        b'S' => "STRING",
        b'T' => "BINSTRING",
        b'U' => "SHORT_BINSTRING",
        b'V' => "UNICODE",
        b'X' => "BINUNICODE",
        b'a' => "APPEND",
        b'b' => "BUILD",
        b'c' => "GLOBAL",
        b'd' => "DICT",
        b'}' => "EMPTY_DICT",
        b'e' => "APPENDS",
        b'g' => "GET",
        b'h' => "BINGET",
        b'i' => "INST",
        b'j' => "LONG_BINGET",
        b'l' => "LIST",
        b']' => "EMPTY_LIST",
        b'o' => "OBJ",
        b'p' => "PUT",
        b'q' => "BINPUT",
        b'r' => "LONG_BINPUT",
        b's' => "SETITEM",
        b't' => "TUPLE",
        b')' => "EMPTY_TUPLE",
        b'u' => "SETITEMS",
        b'G' => "BINFLOAT",
        b'B' => "BINBYTES",
        b'C' => "SHORT_BINBYTES",
        0x80 => "PROTO",
        0x81 => "NEWOBJ",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x85 => "TUPLE1",
        0x86 => "TUPLE2",
        0x87 => "TUPLE3",
        0x88 => "NEWTRUE",
        0x89 => "NEWFALSE",
        0x8a => "LONG1",
        0x8b => "LONG4",
        0x8c => "SHORT_BINUNICODE",
        0x8d => "BINUNICODE8",
        0x8e => "BINBYTES8",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x92 => "NEWOBJ_EX",
        0x93 => "STACK_GLOBAL",
        0x94 => "MEMOIZE",
        0x95 => "FRAME",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => return format!("0x{op:02x} (not a pickle opcode)"),
    };
    name.to_string()
}

impl<'a> Machine<'a> {
    // ---- reading the input ----

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], Problem> {
        let left = self.input.len() - self.pos;
        if n > left {
            return Err(corrupt(format!(
                "needs {n} bytes of argument, {left} are left (truncated?)"
            )));
        }
        let s = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], Problem> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, Problem> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, Problem> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, Problem> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, Problem> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    /// A length argument as `usize` (checked against the bytes left by `bytes`).
    fn length(&self, n: u64) -> Result<usize, Problem> {
        usize::try_from(n).map_err(|_| corrupt(format!("a length of {n} bytes")))
    }
    /// A newline-terminated argument (the text opcodes), without the newline.
    fn line(&mut self) -> Result<&'a str, Problem> {
        let rest = &self.input[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| corrupt("its text argument has no closing newline (truncated?)"))?;
        self.pos += n + 1;
        std::str::from_utf8(&rest[..n]).map_err(|_| corrupt("its text argument is not UTF-8"))
    }
    fn utf8(&mut self, n: usize) -> Result<String, Problem> {
        let b = self.bytes(n)?;
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|_| corrupt("the string is not valid UTF-8"))
    }

    // ---- the stack and the objects ----

    fn new_obj(&mut self, o: Obj) -> Value {
        self.objects.push(o);
        Value::Obj(self.objects.len() - 1)
    }
    fn push_obj(&mut self, o: Obj) {
        let v = self.new_obj(o);
        self.stack.push(v);
    }
    /// The stack's floor: values below the innermost open MARK belong to outer frames.
    fn floor(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }
    fn pop(&mut self) -> Result<Value, Problem> {
        if self.stack.len() <= self.floor() {
            return Err(corrupt("pops an empty stack (or past a MARK)"));
        }
        self.stack
            .pop()
            .ok_or_else(|| corrupt("pops an empty stack"))
    }
    fn top(&self) -> Result<Value, Problem> {
        if self.stack.len() <= self.floor() {
            return Err(corrupt("needs a value on the stack, there is none"));
        }
        self.stack
            .last()
            .copied()
            .ok_or_else(|| corrupt("needs a value on the stack, there is none"))
    }
    /// The values pushed since the innermost MARK, which is closed.
    fn pop_mark(&mut self) -> Result<Vec<Value>, Problem> {
        let mark = self
            .marks
            .pop()
            .ok_or_else(|| corrupt("no open MARK to collect items from"))?;
        Ok(self.stack.split_off(mark))
    }
    fn memo_get(&self, key: u32) -> Result<Value, Problem> {
        self.memo
            .get(&key)
            .copied()
            .ok_or_else(|| corrupt(format!("memo entry {key} was never stored")))
    }
    fn memo_put(&mut self, key: u32) -> Result<(), Problem> {
        let v = self.top()?;
        self.memo.insert(key, v);
        Ok(())
    }
    fn obj_mut(&mut self, v: Value) -> Option<&mut Obj> {
        match v {
            Value::Obj(i) => self.objects.get_mut(i),
            _ => None,
        }
    }
    fn kind(&self, v: Value) -> String {
        describe(&self.objects, v)
    }
    fn set_items(&mut self, target: Value, items: Vec<Value>) -> Result<(), Problem> {
        if !items.len().is_multiple_of(2) {
            return Err(corrupt(format!(
                "{} items, not key-value pairs",
                items.len()
            )));
        }
        let kind = self.kind(target);
        let Some(Obj::Dict(d)) = self.obj_mut(target) else {
            return Err(corrupt(format!("sets items on {kind}, not a dict")));
        };
        for kv in items.chunks_exact(2) {
            d.push((kv[0], kv[1]));
        }
        Ok(())
    }
    fn append(&mut self, target: Value, items: Vec<Value>) -> Result<(), Problem> {
        let kind = self.kind(target);
        match self.obj_mut(target) {
            Some(Obj::List(l)) => {
                l.extend(items);
                Ok(())
            }
            _ => Err(corrupt(format!("appends to {kind}, not a list"))),
        }
    }
    /// A call of `callable` with the arguments `args`: `collections.OrderedDict()` is a
    /// dict; anything else is recorded.
    fn call(&mut self, callable: Value, args: Value) -> Value {
        let ordered_dict =
            global_name(&self.objects, callable) == Some(("collections", "OrderedDict"));
        // `OrderedDict()`, the way a state dict starts (its items follow by SETITEMS).
        // Called with items it stays a recorded call: torch never writes that, and
        // building it would copy a list that the memo may hand out any number of times.
        if ordered_dict && matches!(self.obj(args), Some(Obj::Tuple(t)) if t.is_empty()) {
            return self.new_obj(Obj::Dict(Vec::new()));
        }
        self.new_obj(Obj::Call {
            callable,
            args,
            state: None,
        })
    }
    fn obj(&self, v: Value) -> Option<&Obj> {
        match v {
            Value::Obj(i) => self.objects.get(i),
            _ => None,
        }
    }

    // ---- one opcode ----

    fn step(&mut self, op: u8) -> Result<Flow, Problem> {
        match op {
            0x80 => {
                let proto = self.u8()?;
                if proto > 5 {
                    return Err(unsupported(format!("pickle protocol {proto}")));
                }
            }
            0x95 => {
                // FRAME: a length prefix for buffering; the opcodes inside run as usual.
                self.u64()?;
            }
            b'.' => {
                let v = self.pop()?;
                if !self.marks.is_empty() {
                    return Err(corrupt("STOP with a MARK still open"));
                }
                return Ok(Flow::Stop(v));
            }
            // Constants and numbers.
            b'N' => self.stack.push(Value::None),
            0x88 => self.stack.push(Value::Bool(true)),
            0x89 => self.stack.push(Value::Bool(false)),
            b'J' => {
                let v = i32::from_le_bytes(self.array()?);
                self.stack.push(Value::Int(i64::from(v)));
            }
            b'K' => {
                let v = self.u8()?;
                self.stack.push(Value::Int(i64::from(v)));
            }
            b'M' => {
                let v = self.u16()?;
                self.stack.push(Value::Int(i64::from(v)));
            }
            0x8a => {
                let n = usize::from(self.u8()?);
                let b = self.bytes(n)?;
                self.stack.push(long_le(b));
            }
            0x8b => {
                let n = u64::from(self.u32()?);
                let n = self.length(n)?;
                let b = self.bytes(n)?;
                self.stack.push(long_le(b));
            }
            b'G' => {
                let v = f64::from_be_bytes(self.array()?);
                self.stack.push(Value::Float(v));
            }
            b'I' => {
                let line = self.line()?;
                let v = match line {
                    "00" => Value::Bool(false),
                    "01" => Value::Bool(true),
                    _ => parse_int(line)?,
                };
                self.stack.push(v);
            }
            b'L' => {
                let line = self.line()?;
                let v = parse_int(line.strip_suffix('L').unwrap_or(line))?;
                self.stack.push(v);
            }
            b'F' => {
                let line = self.line()?;
                let v = line
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| corrupt(format!("{line:?} is not a float")))?;
                self.stack.push(Value::Float(v));
            }
            // Strings and bytes.
            b'X' => {
                let n = u64::from(self.u32()?);
                let n = self.length(n)?;
                let s = self.utf8(n)?;
                self.push_obj(Obj::Str(s));
            }
            0x8c => {
                let n = usize::from(self.u8()?);
                let s = self.utf8(n)?;
                self.push_obj(Obj::Str(s));
            }
            0x8d => {
                let n = self.u64()?;
                let n = self.length(n)?;
                let s = self.utf8(n)?;
                self.push_obj(Obj::Str(s));
            }
            // BINSTRING / SHORT_BINSTRING: Python 2 str, read as bytes.
            b'T' => {
                let n = i32::from_le_bytes(self.array()?);
                let n = usize::try_from(n).map_err(|_| corrupt("a negative length"))?;
                let b = self.bytes(n)?.to_vec();
                self.push_obj(Obj::Bytes(b));
            }
            b'U' | b'C' => {
                let n = usize::from(self.u8()?);
                let b = self.bytes(n)?.to_vec();
                self.push_obj(Obj::Bytes(b));
            }
            b'B' => {
                let n = u64::from(self.u32()?);
                let n = self.length(n)?;
                let b = self.bytes(n)?.to_vec();
                self.push_obj(Obj::Bytes(b));
            }
            0x8e => {
                let n = self.u64()?;
                let n = self.length(n)?;
                let b = self.bytes(n)?.to_vec();
                self.push_obj(Obj::Bytes(b));
            }
            // Containers.
            b'(' => self.marks.push(self.stack.len()),
            b')' => self.push_obj(Obj::Tuple(Vec::new())),
            b't' => {
                let items = self.pop_mark()?;
                self.push_obj(Obj::Tuple(items));
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.pop()?);
                }
                items.reverse();
                self.push_obj(Obj::Tuple(items));
            }
            b']' => self.push_obj(Obj::List(Vec::new())),
            b'l' => {
                let items = self.pop_mark()?;
                self.push_obj(Obj::List(items));
            }
            b'}' => self.push_obj(Obj::Dict(Vec::new())),
            b'd' => {
                let items = self.pop_mark()?;
                let d = self.new_obj(Obj::Dict(Vec::new()));
                self.set_items(d, items)?;
                self.stack.push(d);
            }
            0x8f => self.push_obj(Obj::Set(Vec::new())),
            0x91 => {
                let items = self.pop_mark()?;
                self.push_obj(Obj::Set(items));
            }
            b'a' => {
                let v = self.pop()?;
                let target = self.top()?;
                self.append(target, vec![v])?;
            }
            b'e' => {
                let items = self.pop_mark()?;
                let target = self.top()?;
                self.append(target, items)?;
            }
            b's' => {
                let v = self.pop()?;
                let k = self.pop()?;
                let target = self.top()?;
                self.set_items(target, vec![k, v])?;
            }
            b'u' => {
                let items = self.pop_mark()?;
                let target = self.top()?;
                self.set_items(target, items)?;
            }
            0x90 => {
                let items = self.pop_mark()?;
                let target = self.top()?;
                let kind = self.kind(target);
                match self.obj_mut(target) {
                    Some(Obj::Set(s)) => s.extend(items),
                    _ => return Err(corrupt(format!("adds items to {kind}, not a set"))),
                }
            }
            // The stack.
            b'0' => {
                self.pop()?;
            }
            b'1' => {
                self.pop_mark()?;
            }
            b'2' => {
                let v = self.top()?;
                self.stack.push(v);
            }
            // The memo.
            b'q' => {
                let k = u32::from(self.u8()?);
                self.memo_put(k)?;
            }
            b'r' => {
                let k = self.u32()?;
                self.memo_put(k)?;
            }
            b'p' => {
                let line = self.line()?;
                let k = line
                    .parse::<u32>()
                    .map_err(|_| corrupt(format!("{line:?} is not a memo key")))?;
                self.memo_put(k)?;
            }
            0x94 => {
                let k = u32::try_from(self.memo.len())
                    .map_err(|_| corrupt("more than 2^32 memo entries"))?;
                self.memo_put(k)?;
            }
            b'h' => {
                let k = u32::from(self.u8()?);
                let v = self.memo_get(k)?;
                self.stack.push(v);
            }
            b'j' => {
                let k = self.u32()?;
                let v = self.memo_get(k)?;
                self.stack.push(v);
            }
            b'g' => {
                let line = self.line()?;
                let k = line
                    .parse::<u32>()
                    .map_err(|_| corrupt(format!("{line:?} is not a memo key")))?;
                let v = self.memo_get(k)?;
                self.stack.push(v);
            }
            // Globals, calls and objects.
            b'c' => {
                let module = self.line()?.to_string();
                let name = self.line()?.to_string();
                let module = self.new_obj(Obj::Str(module));
                let name = self.new_obj(Obj::Str(name));
                self.push_obj(Obj::Global { module, name });
            }
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                let (Some(Obj::Str(_)), Some(Obj::Str(_))) = (self.obj(module), self.obj(name))
                else {
                    return Err(corrupt("the module and name are not strings"));
                };
                self.push_obj(Obj::Global { module, name });
            }
            b'R' => {
                let args = self.pop()?;
                let callable = self.pop()?;
                if !matches!(self.obj(args), Some(Obj::Tuple(_))) {
                    return Err(corrupt(format!(
                        "the arguments are {}, not a tuple",
                        self.kind(args)
                    )));
                }
                let v = self.call(callable, args);
                self.stack.push(v);
            }
            0x81 => {
                let args = self.pop()?;
                let cls = self.pop()?;
                let v = self.call(cls, args);
                self.stack.push(v);
            }
            0x92 => {
                let _kwargs = self.pop()?;
                let args = self.pop()?;
                let cls = self.pop()?;
                let v = self.call(cls, args);
                self.stack.push(v);
            }
            b'b' => {
                let state = self.pop()?;
                let target = self.top()?;
                match self.obj_mut(target) {
                    Some(Obj::Call { state: s, .. }) => *s = Some(state),
                    // An OrderedDict's attributes (a state dict's `_metadata`), or the
                    // state of anything else that is not a recorded call: not needed.
                    Some(_) => {}
                    None => return Err(corrupt("BUILD on a plain value")),
                }
            }
            b'Q' => {
                let pid = self.pop()?;
                self.push_obj(Obj::Persistent(pid));
            }
            b'P' => {
                let line = self.line()?.to_string();
                let pid = self.new_obj(Obj::Str(line));
                self.push_obj(Obj::Persistent(pid));
            }
            b'S' | b'V' | b'i' | b'o' | 0x82..=0x84 => {
                return Err(unsupported(
                    "a protocol 0/1 opcode this reader does not execute (torch.save writes \
                     protocol 2)",
                ))
            }
            0x96..=0x98 => {
                return Err(unsupported(
                    "pickle protocol 5 out-of-band buffers (torch.save writes protocol 2)",
                ))
            }
            _ => return Err(corrupt("not a pickle opcode")),
        }
        Ok(Flow::Continue)
    }
}

/// A little-endian two's-complement integer (LONG1, LONG4).
fn long_le(b: &[u8]) -> Value {
    if b.is_empty() {
        return Value::Int(0);
    }
    if b.len() > 8 {
        // Wider than 64 bits: fits only if the extra bytes are sign extension.
        let sign = if b[7] & 0x80 != 0 { 0xff } else { 0 };
        if b[8..].iter().any(|&x| x != sign) {
            return Value::BigInt;
        }
        return long_le(&b[..8]);
    }
    let mut a = [0u8; 8];
    a[..b.len()].copy_from_slice(b);
    if b[b.len() - 1] & 0x80 != 0 {
        for x in &mut a[b.len()..] {
            *x = 0xff;
        }
    }
    Value::Int(i64::from_le_bytes(a))
}

/// A decimal integer of the text opcodes.
fn parse_int(s: &str) -> Result<Value, Problem> {
    let s = s.trim();
    if s.is_empty()
        || !s
            .trim_start_matches(['-', '+'])
            .bytes()
            .all(|c| c.is_ascii_digit())
    {
        return Err(corrupt(format!("{:?} is not an integer", truncate(s))));
    }
    Ok(s.parse::<i64>().map(Value::Int).unwrap_or(Value::BigInt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long1_sign_extension() {
        assert_eq!(long_le(&[]), Value::Int(0));
        assert_eq!(long_le(&[0xff]), Value::Int(-1));
        assert_eq!(long_le(&[0x80, 0x00]), Value::Int(128));
        assert_eq!(long_le(&[0, 0, 0, 0, 0, 0, 0, 0x80]), Value::Int(i64::MIN));
        assert_eq!(long_le(&[1, 0, 0, 0, 0, 0, 0, 0, 0]), Value::Int(1));
        assert_eq!(long_le(&[0, 0, 0, 0, 0, 0, 0, 0x80, 0]), Value::BigInt);
        assert_eq!(long_le(&[0xff; 9]), Value::Int(-1));
    }

    #[test]
    fn a_small_protocol2_dict() {
        // pickle.dumps({'a': [1, 2.5, None]}, protocol=2)
        let p =
            b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01]q\x02(K\x01G@\x04\x00\x00\x00\x00\x00\x00Nes.";
        let pk = run(p).unwrap();
        let Some(Obj::Dict(d)) = pk.obj(pk.root) else {
            panic!("{:?}", pk.root)
        };
        assert_eq!(pk.str(d[0].0), Some("a"));
        assert_eq!(
            pk.items(d[0].1).unwrap(),
            &[Value::Int(1), Value::Float(2.5), Value::None]
        );
    }

    #[test]
    fn errors_name_the_byte_and_opcode() {
        let e = run(b"\x80\x02]q\x00h\x05.").unwrap_err();
        assert_eq!(
            e,
            Problem::Corrupt("pickle byte 5, opcode BINGET: memo entry 5 was never stored".into())
        );
        let e = run(b"\x80\x02X\xff\xff\xff\x7fab").unwrap_err();
        assert!(format!("{e:?}").contains("truncated"), "{e:?}");
        let e = run(b"\x80\x02N").unwrap_err();
        assert!(format!("{e:?}").contains("without a STOP"), "{e:?}");
        let e = run(b"\x80\x02N.N").unwrap_err();
        assert!(
            format!("{e:?}").contains("after the pickle's STOP"),
            "{e:?}"
        );
    }

    #[test]
    fn memo_shares_and_cycles_are_cheap() {
        // A list appended to itself 10 times via BINGET: 10 values, no copies.
        let mut p = b"\x80\x02]q\x00".to_vec();
        for _ in 0..10 {
            p.extend_from_slice(b"h\x00a");
        }
        p.push(b'.');
        let pk = run(&p).unwrap();
        assert_eq!(pk.items(pk.root).unwrap().len(), 10);
        assert_eq!(pk.objects.len(), 1);
    }
}

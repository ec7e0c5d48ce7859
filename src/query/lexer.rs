//! PromQL's tokens: what Prometheus's lexer emits, each with its byte offset.

use super::ParseError;

/// A token.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// A name: metric, label, function, keyword (the parser tells them apart). `colon` says
    /// whether it holds a `:` (only metric names may).
    Ident {
        name: String,
        colon: bool,
    },
    Number(f64),
    /// A duration in ms, as written (`5m`, `1h30m`).
    Duration(i64),
    Str(String),
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Colon,
    At,
    /// `=`
    Assign,
    /// `=~`
    RegexMatch,
    /// `!~`
    RegexNoMatch,
    /// `+ - * / % ^ == != < <= > >=`
    Op(&'static str),
    /// Where Prometheus's lexer stops with an error the parser reports when it reaches it (a
    /// closing `)`, `]` or `}` that closes nothing): the message. The last token.
    Error(&'static str),
    Eof,
}

impl Tok {
    /// How a message names it.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Ident { name, .. } => format!("identifier {name:?}"),
            Tok::Number(_) => "number".into(),
            Tok::Duration(_) => "duration".into(),
            Tok::Str(_) => "string".into(),
            Tok::LParen => "\"(\"".into(),
            Tok::RParen => "\")\"".into(),
            Tok::LBrace => "\"{\"".into(),
            Tok::RBrace => "\"}\"".into(),
            Tok::LBracket => "\"[\"".into(),
            Tok::RBracket => "\"]\"".into(),
            Tok::Comma => "\",\"".into(),
            Tok::Colon => "\":\"".into(),
            Tok::At => "\"@\"".into(),
            Tok::Assign => "\"=\"".into(),
            Tok::RegexMatch => "\"=~\"".into(),
            Tok::RegexNoMatch => "\"!~\"".into(),
            Tok::Op(op) => format!("{op:?}"),
            Tok::Error(message) => (*message).into(),
            Tok::Eof => "end of input".into(),
        }
    }
}

/// Splits `input` into tokens with their byte offsets; the last is `Eof` (or `Error`).
pub(crate) fn lex(input: &str) -> Result<Vec<(Tok, usize)>, ParseError> {
    let b = input.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // Inside braces every word is a label name (`{nan="x"}`), as in Prometheus's lexer.
    let mut braces = 0usize;
    let (mut parens, mut brackets) = (0usize, 0usize);
    // A closer that closes nothing ends the tokens there (at `at`), as Prometheus's lexer
    // stops: the parser reports it if it gets that far.
    let stray = |out: &mut Vec<(Tok, usize)>, at: usize, message| {
        out.push((Tok::Error(message), at));
        Ok(std::mem::take(out))
    };
    while i < b.len() {
        let c = b[i];
        let start = i;
        let tok = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'#' => {
                // A comment, to the end of the line.
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'(' => {
                parens += 1;
                one(&mut i, Tok::LParen)
            }
            b')' if parens == 0 => return stray(&mut out, i + 1, "unexpected right parenthesis ')'"),
            b')' => {
                parens -= 1;
                one(&mut i, Tok::RParen)
            }
            b'{' => {
                braces += 1;
                one(&mut i, Tok::LBrace)
            }
            b'}' if braces == 0 => return stray(&mut out, i, "unexpected character: '}'"),
            b'}' => {
                braces -= 1;
                one(&mut i, Tok::RBrace)
            }
            b'[' => {
                brackets += 1;
                one(&mut i, Tok::LBracket)
            }
            b']' if brackets == 0 => return stray(&mut out, i, "unexpected right bracket ']'"),
            b']' => {
                brackets -= 1;
                one(&mut i, Tok::RBracket)
            }
            b',' => one(&mut i, Tok::Comma),
            b':' => one(&mut i, Tok::Colon),
            b'@' => one(&mut i, Tok::At),
            b'+' => one(&mut i, Tok::Op("+")),
            b'-' => one(&mut i, Tok::Op("-")),
            b'*' => one(&mut i, Tok::Op("*")),
            b'/' => one(&mut i, Tok::Op("/")),
            b'%' => one(&mut i, Tok::Op("%")),
            b'^' => one(&mut i, Tok::Op("^")),
            b'=' => match b.get(i + 1) {
                Some(b'=') => two(&mut i, Tok::Op("==")),
                Some(b'~') => two(&mut i, Tok::RegexMatch),
                _ => one(&mut i, Tok::Assign),
            },
            b'!' => match b.get(i + 1) {
                Some(b'=') => two(&mut i, Tok::Op("!=")),
                Some(b'~') => two(&mut i, Tok::RegexNoMatch),
                _ => return Err(ParseError::new(input, i, "unexpected character after '!'")),
            },
            b'<' if b.get(i + 1) == Some(&b'=') => two(&mut i, Tok::Op("<=")),
            b'<' => one(&mut i, Tok::Op("<")),
            b'>' if b.get(i + 1) == Some(&b'=') => two(&mut i, Tok::Op(">=")),
            b'>' => one(&mut i, Tok::Op(">")),
            b'"' | b'\'' | b'`' => {
                let (s, end) = string(input, i)?;
                i = end;
                Tok::Str(s)
            }
            b'0'..=b'9' | b'.' => {
                let (t, end) = number_or_duration(input, i)?;
                i = end;
                t
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b':' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
                    i += 1;
                }
                let word = &input[start..i];
                let lower = word.to_ascii_lowercase();
                if braces == 0 && (lower == "inf" || lower == "nan") {
                    Tok::Number(if lower == "inf" { f64::INFINITY } else { f64::NAN })
                } else {
                    Tok::Ident { name: word.to_string(), colon: word.contains(':') }
                }
            }
            _ => {
                let ch = input[i..].chars().next().unwrap_or('?');
                return Err(ParseError::new(input, i, format!("unexpected character: {ch:?}")));
            }
        };
        out.push((tok, start));
    }
    out.push((Tok::Eof, b.len()));
    Ok(out)
}

fn one(i: &mut usize, t: Tok) -> Tok {
    *i += 1;
    t
}

fn two(i: &mut usize, t: Tok) -> Tok {
    *i += 2;
    t
}

/// A number (decimal, hex `0x..`, octal `0..`, exponent) or a duration (`5m`, `1h30m`).
fn number_or_duration(input: &str, start: usize) -> Result<(Tok, usize), ParseError> {
    let b = input.as_bytes();
    let mut i = start;
    let alnum = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'.';
    if b[i..].starts_with(b"0x") || b[i..].starts_with(b"0X") {
        i += 2;
        while i < b.len() && b[i].is_ascii_hexdigit() {
            i += 1;
        }
        let text = &input[start..i];
        if i < b.len() && alnum(b[i]) || i == start + 2 {
            return Err(ParseError::new(input, start, format!("bad number or duration syntax: {text:?}")));
        }
        let n = u64::from_str_radix(&text[2..], 16)
            .map_err(|_| ParseError::new(input, start, format!("bad number {text:?}")))?;
        return Ok((Tok::Number(n as f64), i));
    }
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let digits_end = i;
    // A duration: digits followed by a unit.
    if digits_end > start && i < b.len() && b"smhdwy".contains(&b[i]) {
        while i < b.len() && (b[i].is_ascii_alphanumeric()) {
            i += 1;
        }
        let text = &input[start..i];
        let ms = parse_duration(text)
            .ok_or_else(|| ParseError::new(input, start, format!("bad number or duration syntax: {text:?}")))?;
        return Ok((Tok::Duration(ms), i));
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            i = j;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    let text = &input[start..i];
    if i < b.len() && alnum(b[i]) || text == "." {
        let end = (i..b.len()).find(|&k| !alnum(b[k])).unwrap_or(b.len());
        return Err(ParseError::new(input, start, format!("bad number or duration syntax: {:?}", &input[start..end])));
    }
    // Go's ParseInt(s, 0, 64) first, as Prometheus: a leading 0 means octal.
    let n = if text.len() > 1 && text.starts_with('0') && text.bytes().all(|c| c.is_ascii_digit()) {
        u64::from_str_radix(&text[1..], 8).map(|n| n as f64).or_else(|_| text.parse::<f64>())
    } else {
        text.parse::<f64>()
    };
    let n = n.map_err(|_| ParseError::new(input, start, format!("bad number {text:?}")))?;
    Ok((Tok::Number(n), i))
}

/// A Prometheus duration: integers with units `y w d h m s ms`, largest first, each once.
pub(crate) fn parse_duration(text: &str) -> Option<i64> {
    const UNITS: [(&str, i64); 7] = [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ];
    let mut rest = text;
    let mut total: i64 = 0;
    let mut next_unit = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        let k = UNITS.iter().position(|u| u.0 == unit)?;
        if k < next_unit {
            return None;
        }
        next_unit = k + 1;
        total = total.checked_add(n.checked_mul(UNITS[k].1)?)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// A quoted string from `start`: `"..."` and `'...'` with Go's escapes, `` `...` `` raw.
fn string(input: &str, start: usize) -> Result<(String, usize), ParseError> {
    let quote = input.as_bytes()[start] as char;
    let mut out = String::new();
    let mut chars = input[start + 1..].char_indices();
    let end_at = |k: usize, c: char| start + 1 + k + c.len_utf8();
    while let Some((k, c)) = chars.next() {
        if c == quote {
            return Ok((out, end_at(k, c)));
        }
        if quote == '`' || c != '\\' {
            if c == '\n' && quote != '`' {
                break;
            }
            out.push(c);
            continue;
        }
        let Some((k, e)) = chars.next() else { break };
        let at = start + 1 + k;
        let bad = || ParseError::new(input, at, format!("unknown escape sequence {e:?}"));
        let mut hex = |n: usize| -> Result<u32, ParseError> {
            let mut v = 0u32;
            for _ in 0..n {
                let d = chars.next().and_then(|(_, h)| h.to_digit(16)).ok_or_else(bad)?;
                v = v * 16 + d;
            }
            Ok(v)
        };
        match e {
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '\\' => out.push('\\'),
            '"' | '\'' if e == quote => out.push(e),
            'x' => out.push(char::from_u32(hex(2)?).ok_or_else(bad)?),
            'u' => out.push(char::from_u32(hex(4)?).ok_or_else(bad)?),
            'U' => out.push(char::from_u32(hex(8)?).ok_or_else(bad)?),
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    let d = chars.next().and_then(|(_, h)| h.to_digit(8)).ok_or_else(bad)?;
                    v = v * 8 + d;
                }
                out.push(char::from_u32(v).filter(|_| v < 256).ok_or_else(bad)?);
            }
            _ => return Err(bad()),
        }
    }
    Err(ParseError::new(input, start, "unterminated quoted string"))
}

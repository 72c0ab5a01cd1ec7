//! Tokens of the FQL v10 subset. Operators outside the subset still lex,
//! so the parser can name them in its "not supported" message.

/// One token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub at: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    Str(String),
    Int(i64),
    Float(f64),
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Colon,
    Semi,
    Dot,
    /// `?.`
    QDot,
    /// `=>`
    Arrow,
    EqEq,
    NotEq,
    AndAnd,
    OrOr,
    Bang,
    Eq,
    Minus,
    /// An operator the subset does not evaluate (`+`, `<`, `??`, ...).
    Unsupported(String),
    Eof,
}

impl Tok {
    /// How the token is written, for error messages.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Str(_) => "a string".into(),
            Tok::Int(i) => format!("`{i}`"),
            Tok::Float(f) => format!("`{f}`"),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::LBrace => "`{`".into(),
            Tok::RBrace => "`}`".into(),
            Tok::LBracket => "`[`".into(),
            Tok::RBracket => "`]`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Colon => "`:`".into(),
            Tok::Semi => "`;`".into(),
            Tok::Dot => "`.`".into(),
            Tok::QDot => "`?.`".into(),
            Tok::Arrow => "`=>`".into(),
            Tok::EqEq => "`==`".into(),
            Tok::NotEq => "`!=`".into(),
            Tok::AndAnd => "`&&`".into(),
            Tok::OrOr => "`||`".into(),
            Tok::Bang => "`!`".into(),
            Tok::Eq => "`=`".into(),
            Tok::Minus => "`-`".into(),
            Tok::Unsupported(s) => format!("`{s}`"),
            Tok::Eof => "end of query".into(),
        }
    }
}

/// A lexing failure: message and byte offset.
#[derive(Debug, Clone, PartialEq)]
pub struct LexError {
    pub message: String,
    pub at: usize,
}

/// Splits FQL source into tokens, skipping whitespace and `//` / `/* */` comments.
pub fn lex(src: &str) -> Result<Vec<Token>, LexError> {
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let peek = |i: usize| chars.get(i).map(|&(_, c)| c);
    while let Some(&(at, c)) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '/' && peek(i + 1) == Some('/') {
            while peek(i).is_some_and(|c| c != '\n') {
                i += 1;
            }
            continue;
        }
        if c == '/' && peek(i + 1) == Some('*') {
            i += 2;
            loop {
                match peek(i) {
                    None => {
                        return Err(LexError {
                            message: "Unterminated comment".into(),
                            at,
                        })
                    }
                    Some('*') if peek(i + 1) == Some('/') => {
                        i += 2;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' || c == '$' {
            let start = i;
            while peek(i).is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
                i += 1;
            }
            let word: String = chars[start..i].iter().map(|&(_, c)| c).collect();
            out.push(Token {
                tok: Tok::Ident(word),
                at,
            });
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while peek(i).is_some_and(|c| c.is_ascii_digit() || c == '_') {
                i += 1;
            }
            let mut is_float = false;
            if peek(i) == Some('.') && peek(i + 1).is_some_and(|c| c.is_ascii_digit()) {
                is_float = true;
                i += 1;
                while peek(i).is_some_and(|c| c.is_ascii_digit()) {
                    i += 1;
                }
            }
            if matches!(peek(i), Some('e' | 'E')) {
                is_float = true;
                i += 1;
                if matches!(peek(i), Some('+' | '-')) {
                    i += 1;
                }
                while peek(i).is_some_and(|c| c.is_ascii_digit()) {
                    i += 1;
                }
            }
            let text: String = chars[start..i]
                .iter()
                .map(|&(_, c)| c)
                .filter(|&c| c != '_')
                .collect();
            let tok = if is_float {
                text.parse().map(Tok::Float).ok()
            } else {
                text.parse().map(Tok::Int).ok()
            };
            match tok {
                Some(tok) => out.push(Token { tok, at }),
                None => {
                    return Err(LexError {
                        message: format!("Invalid number `{text}`"),
                        at,
                    })
                }
            }
            continue;
        }
        if c == '"' || c == '\'' {
            let (s, next) = lex_string(&chars, i, c)?;
            out.push(Token {
                tok: Tok::Str(s),
                at,
            });
            i = next;
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())]
            .iter()
            .map(|&(_, c)| c)
            .collect();
        let (tok, len) = match two.as_str() {
            "?." => (Tok::QDot, 2),
            "=>" => (Tok::Arrow, 2),
            "==" => (Tok::EqEq, 2),
            "!=" => (Tok::NotEq, 2),
            "&&" => (Tok::AndAnd, 2),
            "||" => (Tok::OrOr, 2),
            "<=" | ">=" | "??" | "**" => (Tok::Unsupported(two.clone()), 2),
            _ => match c {
                '(' => (Tok::LParen, 1),
                ')' => (Tok::RParen, 1),
                '{' => (Tok::LBrace, 1),
                '}' => (Tok::RBrace, 1),
                '[' => (Tok::LBracket, 1),
                ']' => (Tok::RBracket, 1),
                ',' => (Tok::Comma, 1),
                ':' => (Tok::Colon, 1),
                ';' => (Tok::Semi, 1),
                '.' => (Tok::Dot, 1),
                '!' => (Tok::Bang, 1),
                '=' => (Tok::Eq, 1),
                '-' => (Tok::Minus, 1),
                '+' | '*' | '/' | '%' | '<' | '>' | '?' | '&' | '|' | '^' | '~' | '#' | '@' => {
                    (Tok::Unsupported(c.to_string()), 1)
                }
                other => {
                    return Err(LexError {
                        message: format!("Unexpected character `{other}`"),
                        at,
                    });
                }
            },
        };
        out.push(Token { tok, at });
        i += len;
    }
    out.push(Token {
        tok: Tok::Eof,
        at: src.len(),
    });
    Ok(out)
}

/// Lexes a quoted string starting at `chars[start]`; returns the value and the index after it.
fn lex_string(
    chars: &[(usize, char)],
    start: usize,
    quote: char,
) -> Result<(String, usize), LexError> {
    let at = chars[start].0;
    let mut s = String::new();
    let mut i = start + 1;
    loop {
        let Some(&(pos, c)) = chars.get(i) else {
            return Err(LexError {
                message: "Unterminated string".into(),
                at,
            });
        };
        i += 1;
        match c {
            c if c == quote => return Ok((s, i)),
            '#' if quote == '"' && chars.get(i).map(|p| p.1) == Some('{') => {
                return Err(LexError {
                    message: "String interpolation `#{...}` is not supported".into(),
                    at: pos,
                });
            }
            '\\' => {
                let Some(&(_, e)) = chars.get(i) else {
                    return Err(LexError {
                        message: "Unterminated string".into(),
                        at,
                    });
                };
                i += 1;
                match e {
                    'n' => s.push('\n'),
                    't' => s.push('\t'),
                    'r' => s.push('\r'),
                    '0' => s.push('\0'),
                    '\\' | '"' | '\'' | '#' => s.push(e),
                    'u' => {
                        let hex: String = chars.iter().skip(i).take(4).map(|p| p.1).collect();
                        match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                            Some(ch) if hex.len() == 4 => {
                                s.push(ch);
                                i += 4;
                            }
                            _ => {
                                return Err(LexError {
                                    message: "Invalid unicode escape".into(),
                                    at: pos,
                                })
                            }
                        }
                    }
                    other => {
                        return Err(LexError {
                            message: format!("Invalid escape `\\{other}`"),
                            at: pos,
                        });
                    }
                }
            }
            c => s.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        lex(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn lexes_the_subset() {
        assert_eq!(
            toks(r#"Todo.where(.done == true)?.x // c"#),
            vec![
                Tok::Ident("Todo".into()),
                Tok::Dot,
                Tok::Ident("where".into()),
                Tok::LParen,
                Tok::Dot,
                Tok::Ident("done".into()),
                Tok::EqEq,
                Tok::Ident("true".into()),
                Tok::RParen,
                Tok::QDot,
                Tok::Ident("x".into()),
                Tok::Eof
            ]
        );
        assert_eq!(
            toks("1 2.5 'a\\'b' \"c\\n\""),
            vec![
                Tok::Int(1),
                Tok::Float(2.5),
                Tok::Str("a'b".into()),
                Tok::Str("c\n".into()),
                Tok::Eof
            ]
        );
        assert_eq!(toks("x => x != 1 + 2")[5], Tok::Unsupported("+".into()));
    }

    #[test]
    fn reports_bad_input() {
        assert!(lex("\"open").is_err());
        assert!(lex("\"#{x}\"")
            .unwrap_err()
            .message
            .contains("interpolation"));
        assert!(lex("/* open").is_err());
        assert!(lex("99999999999999999999").is_err());
    }
}

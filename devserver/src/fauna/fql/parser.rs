//! Recursive-descent parser for the FQL v10 subset.
//!
//! ```text
//! program  := stmt* expr            stmt := "let" IDENT "=" expr ";"? | expr ";"
//! expr     := or
//! or       := and ("||" and)*        and := equality ("&&" equality)*
//! equality := unary (("==" | "!=") unary)*
//! unary    := "!" unary | "-" number | postfix
//! postfix  := primary ("." IDENT | "?." IDENT | "(" args ")" | "[" expr "]" | "!")*
//! primary  := literal | IDENT | "(" expr ")" | array | object | lambda | "." IDENT
//! lambda   := IDENT "=>" expr | "(" params ")" "=>" expr
//! ```
//! A `.field` shorthand inside a call argument makes that argument a
//! one-parameter function, as in `Todo.where(.done == false)`.

use super::lexer::{lex, Tok, Token};

/// Name of the implicit parameter of a shorthand function.
pub const THIS: &str = "$this";

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Null,
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(String),
    Array(Vec<Expr>),
    Object(Vec<(String, Expr)>),
    Var(String),
    Field {
        target: Box<Expr>,
        name: String,
        optional: bool,
    },
    Index {
        target: Box<Expr>,
        index: Box<Expr>,
    },
    Call {
        callee: Box<Expr>,
        args: Vec<Expr>,
    },
    /// Postfix `!`: fails on null and on missing documents.
    NonNull(Box<Expr>),
    Not(Box<Expr>),
    Binary {
        op: BinOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Lambda {
        params: Vec<String>,
        body: std::sync::Arc<Expr>,
    },
    /// `let` bindings and expression statements, then a result.
    Block {
        stmts: Vec<Stmt>,
        result: Box<Expr>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    Let(String, Expr),
    Expr(Expr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Eq,
    NotEq,
    And,
    Or,
}

/// A syntax error: message plus 1-based line and column.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at *query*:{}:{}",
            self.message, self.line, self.column
        )
    }
}

/// Parses a whole query.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let tokens = lex(src).map_err(|e| position(src, e.message, e.at))?;
    if tokens.len() > MAX_TOKENS {
        return Err(position(
            src,
            "The query is too long for the devserver".into(),
            0,
        ));
    }
    let mut p = Parser {
        src,
        tokens,
        pos: 0,
        depth: 0,
    };
    let program = p.program()?;
    if ast_depth(&program) > MAX_AST_DEPTH {
        return Err(position(src, "The query is nested too deeply".into(), 0));
    }
    if uses_this(&program) {
        return Err(position(
            src,
            "The shorthand `.field` is only allowed as a function argument".into(),
            0,
        ));
    }
    Ok(program)
}

fn position(src: &str, message: String, at: usize) -> ParseError {
    let before = &src[..at.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    ParseError {
        message,
        line,
        column,
    }
}

/// Keywords of FQL that this subset does not evaluate; named in the error.
const UNSUPPORTED_KEYWORDS: &[&str] = &["if", "else", "at", "match", "case", "isa"];

/// Nesting limit while parsing, so hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 128;
/// Limit on the parsed tree's depth (long `a.b.c...` chains), which bounds evaluation.
const MAX_AST_DEPTH: usize = 512;
/// Limit on query size in tokens.
const MAX_TOKENS: usize = 20_000;

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

type PResult<T> = Result<T, ParseError>;

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.tokens[self.pos.min(self.tokens.len() - 1)].tok
    }

    fn peek_at(&self, n: usize) -> &Tok {
        &self.tokens[(self.pos + n).min(self.tokens.len() - 1)].tok
    }

    fn next(&mut self) -> Tok {
        let tok = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        tok
    }

    fn error<T>(&self, message: String) -> PResult<T> {
        let at = self.tokens[self.pos.min(self.tokens.len() - 1)].at;
        Err(position(self.src, message, at))
    }

    fn unexpected<T>(&self, expected: &str) -> PResult<T> {
        match self.peek() {
            Tok::Unsupported(op) => {
                self.error(format!("Operator `{op}` is not supported by the devserver"))
            }
            other => self.error(format!("Expected {expected}, found {}", other.describe())),
        }
    }

    fn expect(&mut self, tok: Tok, expected: &str) -> PResult<()> {
        if *self.peek() == tok {
            self.next();
            Ok(())
        } else {
            self.unexpected(expected)
        }
    }

    fn is_ident(&self, word: &str) -> bool {
        matches!(self.peek(), Tok::Ident(w) if w == word)
    }

    fn program(&mut self) -> PResult<Expr> {
        let mut stmts = Vec::new();
        loop {
            if self.is_ident("let") {
                self.next();
                let name = match self.next() {
                    Tok::Ident(name) => name,
                    _ => return self.error("Expected a name after `let`".into()),
                };
                self.expect(Tok::Eq, "`=`")?;
                let value = self.expr()?;
                stmts.push(Stmt::Let(name, value));
                while *self.peek() == Tok::Semi {
                    self.next();
                }
                if *self.peek() == Tok::Eof {
                    return self.error("A query must end with an expression, not `let`".into());
                }
                continue;
            }
            let expr = self.expr()?;
            let mut separated = false;
            while *self.peek() == Tok::Semi {
                self.next();
                separated = true;
            }
            if *self.peek() == Tok::Eof {
                return Ok(if stmts.is_empty() {
                    expr
                } else {
                    Expr::Block {
                        stmts,
                        result: Box::new(expr),
                    }
                });
            }
            if !separated && !self.starts_statement() {
                return self.unexpected("end of query");
            }
            stmts.push(Stmt::Expr(expr));
        }
    }

    /// Statements may follow one another on new lines without `;`.
    fn starts_statement(&self) -> bool {
        matches!(
            self.peek(),
            Tok::Ident(_) | Tok::Str(_) | Tok::Int(_) | Tok::Float(_) | Tok::LBracket | Tok::LBrace
        )
    }

    fn expr(&mut self) -> PResult<Expr> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.error("The query is nested too deeply".into());
        }
        let result = self.or();
        self.depth -= 1;
        result
    }

    fn or(&mut self) -> PResult<Expr> {
        let mut left = self.and()?;
        while *self.peek() == Tok::OrOr {
            self.next();
            let right = self.and()?;
            left = Expr::Binary {
                op: BinOp::Or,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
        Ok(left)
    }

    fn and(&mut self) -> PResult<Expr> {
        let mut left = self.equality()?;
        while *self.peek() == Tok::AndAnd {
            self.next();
            let right = self.equality()?;
            left = Expr::Binary {
                op: BinOp::And,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
        Ok(left)
    }

    fn equality(&mut self) -> PResult<Expr> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Tok::EqEq => BinOp::Eq,
                Tok::NotEq => BinOp::NotEq,
                Tok::Unsupported(op) => {
                    return self
                        .error(format!("Operator `{op}` is not supported by the devserver"));
                }
                Tok::Minus => {
                    return self.error("Operator `-` is not supported by the devserver".into())
                }
                _ => return Ok(left),
            };
            self.next();
            let right = self.unary()?;
            left = Expr::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
    }

    fn unary(&mut self) -> PResult<Expr> {
        match self.peek() {
            Tok::Bang => {
                self.next();
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return self.error("The query is nested too deeply".into());
                }
                let inner = self.unary();
                self.depth -= 1;
                Ok(Expr::Not(Box::new(inner?)))
            }
            Tok::Minus => {
                self.next();
                match self.next() {
                    Tok::Int(i) => Ok(Expr::Int(-i)),
                    Tok::Float(f) => Ok(Expr::Double(-f)),
                    _ => self.error("Unary `-` is only supported before a number literal".into()),
                }
            }
            _ => self.postfix(),
        }
    }

    fn postfix(&mut self) -> PResult<Expr> {
        let mut expr = self.primary()?;
        loop {
            match self.peek() {
                Tok::Dot | Tok::QDot => {
                    let optional = *self.peek() == Tok::QDot;
                    self.next();
                    let name = match self.next() {
                        Tok::Ident(name) => name,
                        _ => return self.error("Expected a field name after `.`".into()),
                    };
                    expr = Expr::Field {
                        target: Box::new(expr),
                        name,
                        optional,
                    };
                }
                Tok::LParen => {
                    self.next();
                    let args = self.call_args()?;
                    expr = Expr::Call {
                        callee: Box::new(expr),
                        args,
                    };
                }
                Tok::LBracket => {
                    self.next();
                    let index = self.expr()?;
                    self.expect(Tok::RBracket, "`]`")?;
                    expr = Expr::Index {
                        target: Box::new(expr),
                        index: Box::new(index),
                    };
                }
                Tok::Bang => {
                    self.next();
                    expr = Expr::NonNull(Box::new(expr));
                }
                _ => return Ok(expr),
            }
        }
    }

    /// Arguments after `(`, up to and including `)`; shorthand `.f` arguments become functions.
    fn call_args(&mut self) -> PResult<Vec<Expr>> {
        let mut args = Vec::new();
        while *self.peek() != Tok::RParen {
            let arg = self.expr()?;
            let arg = if uses_this(&arg) {
                Expr::Lambda {
                    params: vec![THIS.to_owned()],
                    body: std::sync::Arc::new(arg),
                }
            } else {
                arg
            };
            args.push(arg);
            if *self.peek() == Tok::Comma {
                self.next();
            } else {
                break;
            }
        }
        self.expect(Tok::RParen, "`,` or `)`")?;
        Ok(args)
    }

    fn primary(&mut self) -> PResult<Expr> {
        match self.peek().clone() {
            Tok::Int(i) => {
                self.next();
                Ok(Expr::Int(i))
            }
            Tok::Float(f) => {
                self.next();
                Ok(Expr::Double(f))
            }
            Tok::Str(s) => {
                self.next();
                Ok(Expr::Str(s))
            }
            Tok::Ident(word) => {
                if *self.peek_at(1) == Tok::Arrow {
                    self.next();
                    self.next();
                    let body = self.expr()?;
                    return Ok(Expr::Lambda {
                        params: vec![word],
                        body: std::sync::Arc::new(body),
                    });
                }
                match word.as_str() {
                    "true" | "false" | "null" | "let" => {}
                    w if UNSUPPORTED_KEYWORDS.contains(&w) => {
                        return self.error(format!(
                            "`{w}` expressions are not supported by the devserver"
                        ));
                    }
                    _ => {}
                }
                self.next();
                Ok(match word.as_str() {
                    "true" => Expr::Bool(true),
                    "false" => Expr::Bool(false),
                    "null" => Expr::Null,
                    "let" => return self.error("`let` is only allowed as a statement".into()),
                    _ => Expr::Var(word),
                })
            }
            Tok::Dot => {
                self.next();
                match self.next() {
                    Tok::Ident(name) => Ok(Expr::Field {
                        target: Box::new(Expr::Var(THIS.to_owned())),
                        name,
                        optional: false,
                    }),
                    _ => self.error("Expected a field name after `.`".into()),
                }
            }
            Tok::LParen => {
                if let Some(params) = self.lambda_params() {
                    let body = self.expr()?;
                    return Ok(Expr::Lambda {
                        params,
                        body: std::sync::Arc::new(body),
                    });
                }
                self.next();
                let inner = self.expr()?;
                self.expect(Tok::RParen, "`)`")?;
                Ok(inner)
            }
            Tok::LBracket => {
                self.next();
                let mut items = Vec::new();
                while *self.peek() != Tok::RBracket {
                    items.push(self.expr()?);
                    if *self.peek() == Tok::Comma {
                        self.next();
                    } else {
                        break;
                    }
                }
                self.expect(Tok::RBracket, "`,` or `]`")?;
                Ok(Expr::Array(items))
            }
            Tok::LBrace => self.object(),
            _ => self.unexpected("an expression"),
        }
    }

    /// If the tokens at `(` form `(a, b) =>`, consumes them and returns the names.
    fn lambda_params(&mut self) -> Option<Vec<String>> {
        let mut n = 1;
        let mut params = Vec::new();
        loop {
            match self.peek_at(n) {
                Tok::RParen => break,
                Tok::Ident(name) => {
                    params.push(name.clone());
                    n += 1;
                    match self.peek_at(n) {
                        Tok::Comma => n += 1,
                        Tok::RParen => break,
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
        if *self.peek_at(n + 1) != Tok::Arrow {
            return None;
        }
        self.pos += n + 2;
        Some(params)
    }

    fn object(&mut self) -> PResult<Expr> {
        self.next(); // `{`
        let is_object = matches!(self.peek(), Tok::RBrace)
            || (matches!(self.peek(), Tok::Ident(_) | Tok::Str(_))
                && *self.peek_at(1) == Tok::Colon);
        if !is_object {
            return self
                .error("Block expressions `{ ... }` are not supported by the devserver".into());
        }
        let mut fields = Vec::new();
        while *self.peek() != Tok::RBrace {
            let key = match self.next() {
                Tok::Ident(k) | Tok::Str(k) => k,
                _ => return self.error("Expected a field name".into()),
            };
            self.expect(Tok::Colon, "`:`")?;
            fields.push((key, self.expr()?));
            if *self.peek() == Tok::Comma {
                self.next();
            } else {
                break;
            }
        }
        self.expect(Tok::RBrace, "`,` or `}`")?;
        Ok(Expr::Object(fields))
    }
}

/// The direct sub-expressions of `expr`.
fn children(expr: &Expr) -> Vec<&Expr> {
    match expr {
        Expr::Null
        | Expr::Bool(_)
        | Expr::Int(_)
        | Expr::Double(_)
        | Expr::Str(_)
        | Expr::Var(_) => vec![],
        Expr::Array(items) => items.iter().collect(),
        Expr::Object(fields) => fields.iter().map(|(_, e)| e).collect(),
        Expr::Field { target, .. } | Expr::NonNull(target) | Expr::Not(target) => vec![target],
        Expr::Index { target, index } => vec![target, index],
        Expr::Call { callee, args } => std::iter::once(callee.as_ref())
            .chain(args.iter())
            .collect(),
        Expr::Binary { left, right, .. } => vec![left, right],
        Expr::Lambda { body, .. } => vec![body.as_ref()],
        Expr::Block { stmts, result } => stmts
            .iter()
            .map(|s| match s {
                Stmt::Let(_, e) | Stmt::Expr(e) => e,
            })
            .chain(std::iter::once(result.as_ref()))
            .collect(),
    }
}

/// Depth of the tree, computed without recursion.
fn ast_depth(expr: &Expr) -> usize {
    let mut max = 0;
    let mut stack = vec![(expr, 1)];
    while let Some((e, d)) = stack.pop() {
        max = max.max(d);
        stack.extend(children(e).into_iter().map(|c| (c, d + 1)));
    }
    max
}

/// Whether `expr` refers to the shorthand parameter outside any nested function.
fn uses_this(expr: &Expr) -> bool {
    match expr {
        Expr::Var(name) => name == THIS,
        Expr::Null
        | Expr::Bool(_)
        | Expr::Int(_)
        | Expr::Double(_)
        | Expr::Str(_)
        | Expr::Lambda { .. } => false,
        Expr::Array(items) => items.iter().any(uses_this),
        Expr::Object(fields) => fields.iter().any(|(_, e)| uses_this(e)),
        Expr::Field { target, .. } | Expr::NonNull(target) | Expr::Not(target) => uses_this(target),
        Expr::Index { target, index } => uses_this(target) || uses_this(index),
        Expr::Call { callee, args } => uses_this(callee) || args.iter().any(uses_this),
        Expr::Binary { left, right, .. } => uses_this(left) || uses_this(right),
        Expr::Block { stmts, result } => {
            uses_this(result)
                || stmts.iter().any(|s| match s {
                    Stmt::Let(_, e) | Stmt::Expr(e) => uses_this(e),
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(n: &str) -> Box<Expr> {
        Box::new(Expr::Var(n.into()))
    }

    #[test]
    fn parses_method_chains_and_shorthand() {
        let e = parse("Todo.where(.done == false).first()").unwrap();
        let Expr::Call { callee, args } = e else {
            panic!()
        };
        assert!(args.is_empty());
        let Expr::Field { target, name, .. } = *callee else {
            panic!()
        };
        assert_eq!(name, "first");
        let Expr::Call { args, .. } = *target else {
            panic!()
        };
        assert!(
            matches!(&args[0], Expr::Lambda { params, .. } if params == &vec![THIS.to_string()])
        );
    }

    #[test]
    fn parses_lambdas_objects_and_lets() {
        assert!(matches!(parse("x => x.a").unwrap(), Expr::Lambda { .. }));
        assert!(
            matches!(parse("(x, y) => x == y").unwrap(), Expr::Lambda { params, .. } if params.len() == 2)
        );
        assert_eq!(parse("(1)").unwrap(), Expr::Int(1));
        assert_eq!(
            parse("{ a: 1, 'b': [true, null], }").unwrap(),
            Expr::Object(vec![
                ("a".into(), Expr::Int(1)),
                ("b".into(), Expr::Array(vec![Expr::Bool(true), Expr::Null]))
            ])
        );
        let Expr::Block { stmts, result } = parse("let x = 1\nlet y = x; y").unwrap() else {
            panic!()
        };
        assert_eq!(stmts.len(), 2);
        assert_eq!(*result, Expr::Var("y".into()));
        assert_eq!(
            parse("a?.b").unwrap(),
            Expr::Field {
                target: var("a"),
                name: "b".into(),
                optional: true
            }
        );
    }

    #[test]
    fn names_unsupported_parts() {
        assert!(parse("1 + 2").unwrap_err().message.contains("`+`"));
        assert!(parse("if (true) 1 else 2")
            .unwrap_err()
            .message
            .contains("`if`"));
        assert!(parse("{ let x = 1; x }")
            .unwrap_err()
            .message
            .contains("Block"));
        assert!(parse(".done").unwrap_err().message.contains("shorthand"));
        let err = parse("Todo.all(\n  ]").unwrap_err();
        assert_eq!((err.line, err.column), (2, 3));
        assert!(parse("let x = 1").is_err());
        assert!(parse("").is_err());
        assert!(parse(&"(".repeat(10_000))
            .unwrap_err()
            .message
            .contains("deeply"));
        assert!(parse(&format!("a{}", ".b".repeat(2_000)))
            .unwrap_err()
            .message
            .contains("deeply"));
        assert!(parse(&"!".repeat(10_000))
            .unwrap_err()
            .message
            .contains("deeply"));
    }
}

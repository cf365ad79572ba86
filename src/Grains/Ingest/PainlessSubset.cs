using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Grains.Ingest;

/// <summary>
/// The small part of Painless that pipelines here run, with Painless' semantics for it: reads of <c>ctx</c>
/// fields (<c>ctx.a.b</c>, null-safe <c>ctx.a?.b</c>, <c>ctx['a']</c>, <c>ctx.list[0]</c>), string, number,
/// boolean and null literals, <c>==</c> <c>!=</c> <c>&lt;</c> <c>&lt;=</c> <c>&gt;</c> <c>&gt;=</c>, <c>&amp;&amp;</c>
/// <c>||</c> <c>!</c> and parentheses (the <c>if</c> conditions), and for the script processor assignments
/// <c>ctx.a = …</c> and <c>if (…) {…} else {…}</c>. Anything else is refused when the script is read, with the
/// position of the first token it does not take.
/// </summary>
public static class PainlessSubset
{
    /// <summary>A condition (<c>if</c> of a processor): an expression whose value must be a boolean.</summary>
    public static Expression ParseCondition(string source)
    {
        var parser = new Parser(source);
        var expression = parser.ParseExpression();
        parser.Skip(";");
        parser.ExpectEnd();
        return expression;
    }

    /// <summary>A script processor's source: statements.</summary>
    public static Statement ParseScript(string source)
    {
        var parser = new Parser(source);
        var statements = new List<Statement>();
        while (!parser.AtEnd) statements.Add(parser.ParseStatement());
        return new Block(statements);
    }

    /// <summary>Why a source is refused; thrown by the parse methods.</summary>
    public sealed class UnsupportedScriptException(string detail) : Exception(detail);

    public abstract record Expression
    {
        public abstract JsonNode? Evaluate(JsonObject ctx);

        /// <summary>The value as a Painless boolean (a null or a non-boolean is a runtime error, as Painless' cast is).</summary>
        public bool EvaluateBoolean(JsonObject ctx) => ToBoolean(Evaluate(ctx));
    }

    public abstract record Statement
    {
        public abstract void Execute(JsonObject ctx);
    }

    private sealed record Literal(JsonNode? Value) : Expression
    {
        public override JsonNode? Evaluate(JsonObject ctx) => Value?.DeepClone();
    }

    private sealed record Access(string? Name, int? Index, bool NullSafe);

    private sealed record FieldRead(IReadOnlyList<Access> Path) : Expression
    {
        public override JsonNode? Evaluate(JsonObject ctx) => Read(ctx, Path, Path.Count);
    }

    private sealed record Not(Expression Operand) : Expression
    {
        public override JsonNode? Evaluate(JsonObject ctx) => JsonValue.Create(!Operand.EvaluateBoolean(ctx));
    }

    private sealed record Logical(Expression Left, bool IsAnd, Expression Right) : Expression
    {
        public override JsonNode? Evaluate(JsonObject ctx)
        {
            var left = Left.EvaluateBoolean(ctx);
            if (IsAnd ? !left : left) return JsonValue.Create(left);
            return JsonValue.Create(Right.EvaluateBoolean(ctx));
        }
    }

    private sealed record Comparison(Expression Left, string Operator, Expression Right) : Expression
    {
        public override JsonNode? Evaluate(JsonObject ctx)
        {
            var (left, right) = (Left.Evaluate(ctx), Right.Evaluate(ctx));
            return JsonValue.Create(Operator switch
            {
                "==" => AreEqual(left, right),
                "!=" => !AreEqual(left, right),
                _ => Compare(left, right) is var c && Operator switch
                {
                    "<" => c < 0,
                    "<=" => c <= 0,
                    ">" => c > 0,
                    _ => c >= 0,
                },
            });
        }
    }

    private sealed record Assignment(IReadOnlyList<Access> Target, Expression Value) : Statement
    {
        public override void Execute(JsonObject ctx)
        {
            var value = IngestDocument.Detached(Value.Evaluate(ctx));
            var receiver = Read(ctx, Target, Target.Count - 1);
            var last = Target[^1];
            switch (receiver)
            {
                case JsonObject map when last.Name is not null:
                    map[last.Name] = value;
                    return;
                case JsonArray list when last.Index is { } index:
                    if (index < 0 || index >= list.Count)
                        throw IngestFailure.ScriptRuntime("index_out_of_bounds_exception", $"Index {index} out of bounds for length {list.Count}");
                    list[index] = value;
                    return;
                case null:
                    throw IngestFailure.ScriptRuntime("null_pointer_exception", $"cannot set [{last.Name ?? last.Index.ToString()}] on null");
                default:
                    throw IngestFailure.ScriptRuntime("illegal_argument_exception",
                        $"dynamic setter [{IngestValues.JavaType(receiver)}, {last.Name ?? last.Index.ToString()}] not found");
            }
        }
    }

    private sealed record Conditional(Expression Condition, Statement Then, Statement? Else) : Statement
    {
        public override void Execute(JsonObject ctx)
        {
            if (Condition.EvaluateBoolean(ctx)) Then.Execute(ctx);
            else Else?.Execute(ctx);
        }
    }

    private sealed record Block(IReadOnlyList<Statement> Statements) : Statement
    {
        public override void Execute(JsonObject ctx)
        {
            foreach (var statement in Statements) statement.Execute(ctx);
        }
    }

    private static JsonNode? Read(JsonObject ctx, IReadOnlyList<Access> path, int count)
    {
        JsonNode? value = ctx;
        for (var i = 0; i < count; i++)
        {
            var access = path[i];
            if (value is null)
            {
                if (access.NullSafe) return null;
                throw IngestFailure.ScriptRuntime("null_pointer_exception", $"cannot access [{access.Name ?? access.Index.ToString()}] of null");
            }
            value = (value, access) switch
            {
                (JsonObject map, { Name: { } name }) => map.TryGetPropertyValue(name, out var v) ? v : null,
                (JsonArray list, { Index: { } index }) => index >= 0 && index < list.Count
                    ? list[index]
                    : throw IngestFailure.ScriptRuntime("index_out_of_bounds_exception", $"Index {index} out of bounds for length {list.Count}"),
                _ => throw IngestFailure.ScriptRuntime("illegal_argument_exception",
                    $"dynamic getter [{IngestValues.JavaType(value)}, {access.Name ?? access.Index.ToString()}] not found"),
            };
        }
        return value;
    }

    private static bool ToBoolean(JsonNode? value) => value switch
    {
        JsonValue v when v.GetValueKind() == JsonValueKind.True => true,
        JsonValue v when v.GetValueKind() == JsonValueKind.False => false,
        null => throw IngestFailure.ScriptRuntime("null_pointer_exception", "cannot cast null to boolean"),
        _ => throw IngestFailure.ScriptRuntime("class_cast_exception", $"Cannot cast {IngestValues.JavaType(value)} to java.lang.Boolean"),
    };

    // Painless' == on def values: numbers by value, everything else by Java's equals.
    private static bool AreEqual(JsonNode? left, JsonNode? right)
    {
        if (left is null || right is null) return left is null && right is null;
        if (IngestValues.TryGetDouble(left, out var l) && IngestValues.TryGetDouble(right, out var r)) return l == r;
        return JsonNode.DeepEquals(left, right);
    }

    private static int Compare(JsonNode? left, JsonNode? right)
    {
        if (left is null || right is null) throw IngestFailure.ScriptRuntime("null_pointer_exception", "cannot compare null");
        if (IngestValues.TryGetDouble(left, out var l) && IngestValues.TryGetDouble(right, out var r)) return l.CompareTo(r);
        throw IngestFailure.ScriptRuntime("class_cast_exception",
            $"Cannot apply a comparison to [{IngestValues.JavaType(left)}] and [{IngestValues.JavaType(right)}]");
    }

    /// <summary>Tokens a source may have: the subset is for short conditions, and a bounded tree keeps parsing and evaluation off deep stacks.</summary>
    public const int MaxTokens = 1024;

    /// <summary>How deep blocks, parentheses and <c>!</c> may nest, and how many terms one <c>&amp;&amp;</c> / <c>||</c> chain may have.</summary>
    public const int MaxNesting = 64;

    private sealed class Parser
    {
        private readonly List<(string Text, int Position, TokenKind Kind)> _tokens;
        private int _next;
        private int _depth;

        public Parser(string source)
        {
            _tokens = Tokenize(source);
            if (_tokens.Count > MaxTokens)
                throw new UnsupportedScriptException($"the source has {_tokens.Count} tokens, more than the {MaxTokens} this subset runs");
        }

        /// <summary>One level deeper (a crafted source must not overflow the stack: that would end the process).</summary>
        private void Enter()
        {
            if (++_depth > MaxNesting) throw Unexpected($"nesting deeper than {MaxNesting} levels");
        }

        public bool AtEnd => _next >= _tokens.Count;

        public void ExpectEnd()
        {
            if (!AtEnd) throw Unexpected();
        }

        public bool Skip(string text)
        {
            if (AtEnd || _tokens[_next].Text != text || _tokens[_next].Kind == TokenKind.String) return false;
            _next++;
            return true;
        }

        private void Expect(string text)
        {
            if (!Skip(text)) throw Unexpected($"expected [{text}]");
        }

        public Statement ParseStatement()
        {
            Enter();
            try
            {
                return ParseStatementAtDepth();
            }
            finally
            {
                _depth--;
            }
        }

        private Statement ParseStatementAtDepth()
        {
            if (Skip(";")) return new Block([]);
            if (Skip("{"))
            {
                var statements = new List<Statement>();
                while (!Skip("}"))
                {
                    if (AtEnd) throw Unexpected("expected [}]");
                    statements.Add(ParseStatement());
                }
                return new Block(statements);
            }
            if (Skip("if"))
            {
                Expect("(");
                var condition = ParseExpression();
                Expect(")");
                var then = ParseStatement();
                var otherwise = Skip("else") ? ParseStatement() : null;
                return new Conditional(condition, then, otherwise);
            }
            if (AtEnd || _tokens[_next].Text != "ctx") throw Unexpected("expected an assignment to a ctx field");
            var target = ParsePath();
            if (target.Count == 0 || target.Any(a => a.NullSafe)) throw Unexpected("expected an assignment to a ctx field");
            Expect("=");
            var value = ParseExpression();
            if (!AtEnd && _tokens[_next].Text != "}") Expect(";");
            return new Assignment(target, value);
        }

        public Expression ParseExpression()
        {
            var left = ParseAnd();
            for (var terms = 1; Skip("||"); terms++)
            {
                if (terms == MaxNesting) throw Unexpected($"more than {MaxNesting} terms in one || chain");
                left = new Logical(left, false, ParseAnd());
            }
            return left;
        }

        private Expression ParseAnd()
        {
            var left = ParseUnary();
            for (var terms = 1; Skip("&&"); terms++)
            {
                if (terms == MaxNesting) throw Unexpected($"more than {MaxNesting} terms in one && chain");
                left = new Logical(left, true, ParseUnary());
            }
            return left;
        }

        private Expression ParseUnary()
        {
            Enter();
            try
            {
                return ParseUnaryAtDepth();
            }
            finally
            {
                _depth--;
            }
        }

        private Expression ParseUnaryAtDepth()
        {
            if (Skip("!")) return new Not(ParseUnary());
            var left = ParsePrimary();
            foreach (var op in new[] { "==", "!=", "<=", ">=", "<", ">" })
                if (Skip(op)) return new Comparison(left, op, ParsePrimary());
            return left;
        }

        private Expression ParsePrimary()
        {
            if (AtEnd) throw Unexpected("expected a value");
            if (Skip("("))
            {
                var inner = ParseExpression();
                Expect(")");
                return inner;
            }
            var (text, _, kind) = _tokens[_next];
            switch (kind)
            {
                case TokenKind.String:
                    _next++;
                    return new Literal(JsonValue.Create(text));
                case TokenKind.Number:
                    _next++;
                    return new Literal(Number(text));
            }
            if (text == "-" && _next + 1 < _tokens.Count && _tokens[_next + 1].Kind == TokenKind.Number)
            {
                _next += 2;
                return new Literal(Number("-" + _tokens[_next - 1].Text));
            }
            switch (text)
            {
                case "true":
                    _next++;
                    return new Literal(JsonValue.Create(true));
                case "false":
                    _next++;
                    return new Literal(JsonValue.Create(false));
                case "null":
                    _next++;
                    return new Literal(null);
                case "ctx":
                    return new FieldRead(ParsePath());
            }
            throw Unexpected("expected a ctx field or a literal");
        }

        private List<Access> ParsePath()
        {
            Expect("ctx");
            var path = new List<Access>();
            while (!AtEnd)
            {
                var nullSafe = false;
                if (Skip("?.")) nullSafe = true;
                else if (Skip("["))
                {
                    if (AtEnd) throw Unexpected("expected a field name or an index");
                    var (text, _, kind) = _tokens[_next++];
                    Access bracket = kind switch
                    {
                        TokenKind.String => new Access(text, null, false),
                        TokenKind.Number when int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var index) => new Access(null, index, false),
                        _ => throw Unexpected("expected a field name or an index"),
                    };
                    Expect("]");
                    path.Add(bracket);
                    continue;
                }
                else if (!Skip(".")) break;
                if (AtEnd || _tokens[_next].Kind != TokenKind.Identifier) throw Unexpected("expected a field name");
                var name = _tokens[_next++].Text;
                if (!AtEnd && _tokens[_next].Text == "(") throw Unexpected("method calls are not run here");
                path.Add(new Access(name, null, nullSafe));
            }
            return path;
        }

        private static JsonNode Number(string text)
        {
            var value = text.TrimEnd('L', 'l', 'd', 'D', 'f', 'F');
            if (text.EndsWith('L') || text.EndsWith('l')) return JsonValue.Create(long.Parse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture));
            if (text.EndsWith('f') || text.EndsWith('F')) return JsonValue.Create(float.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture));
            if (value.IndexOfAny(['.', 'e', 'E']) < 0 && !text.EndsWith('d') && !text.EndsWith('D')
                && int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i)) return JsonValue.Create(i);
            return IngestValues.JavaNumber(double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture));
        }

        private UnsupportedScriptException Unexpected(string? expected = null)
        {
            var where = AtEnd
                ? "at the end"
                : $"at [{_tokens[_next].Text}] (offset {_tokens[_next].Position})";
            return new UnsupportedScriptException(expected is null ? $"unexpected token {where}" : $"{expected} {where}");
        }

        private static readonly string[] Symbols = ["?.", "==", "!=", "<=", ">=", "&&", "||", "(", ")", "{", "}", "[", "]", ".", ";", "=", "<", ">", "!", "-"];

        private static List<(string, int, TokenKind)> Tokenize(string source)
        {
            var tokens = new List<(string, int, TokenKind)>();
            var i = 0;
            while (i < source.Length)
            {
                var c = source[i];
                if (char.IsWhiteSpace(c))
                {
                    i++;
                    continue;
                }
                if (c is '\'' or '"')
                {
                    var text = new StringBuilder();
                    var start = i++;
                    while (i < source.Length && source[i] != c)
                    {
                        if (source[i] == '\\' && i + 1 < source.Length) i++;
                        text.Append(source[i++]);
                    }
                    if (i >= source.Length) throw new UnsupportedScriptException($"unterminated string (offset {start})");
                    i++;
                    tokens.Add((text.ToString(), start, TokenKind.String));
                    continue;
                }
                if (char.IsAsciiDigit(c))
                {
                    var start = i;
                    while (i < source.Length && (char.IsAsciiLetterOrDigit(source[i]) || source[i] == '.')) i++;
                    var text = source[start..i];
                    if (!double.TryParse(text.TrimEnd('L', 'l', 'd', 'D', 'f', 'F'), NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                        throw new UnsupportedScriptException($"unexpected number [{text}] (offset {start})");
                    tokens.Add((text, start, TokenKind.Number));
                    continue;
                }
                if (char.IsAsciiLetter(c) || c == '_')
                {
                    var start = i;
                    while (i < source.Length && (char.IsAsciiLetterOrDigit(source[i]) || source[i] == '_')) i++;
                    tokens.Add((source[start..i], start, TokenKind.Identifier));
                    continue;
                }
                var symbol = Symbols.FirstOrDefault(s => string.CompareOrdinal(source, i, s, 0, s.Length) == 0)
                             ?? throw new UnsupportedScriptException($"unexpected character [{c}] (offset {i})");
                tokens.Add((symbol, i, TokenKind.Symbol));
                i += symbol.Length;
            }
            return tokens;
        }

        private enum TokenKind { Identifier, Number, String, Symbol }
    }
}

using System.Text.Json;
using Liminal.Actors.Validation;

namespace Liminal.Actors.Consumers;

/// <summary>
/// A durable consumer's <c>Filter</c> (SPEC §2.6): <c>path op json-literal</c>, e.g. <c>amount &gt; 10</c>,
/// <c>customer.tier == "gold"</c>, <c>flag != true</c>. The path is dot-separated object keys (no arrays); the
/// literal is a JSON scalar. A missing field, or a field of another JSON type than the literal, never matches —
/// not even with <c>!=</c>. Strings compare ordinally, numbers by value.
/// </summary>
public sealed class ConsumerFilter
{
    /// <summary>The longest filter text accepted, in characters.</summary>
    public const int MaxLength = 1024;

    /// <summary>The deepest path accepted, in keys.</summary>
    public const int MaxDepth = 32;

    private static readonly string[] Operators = ["==", "!=", "<=", ">=", "<", ">"];

    private readonly string[] _path;
    private readonly FilterOperator _operator;
    private readonly JsonElement _literal;

    private ConsumerFilter(string[] path, FilterOperator @operator, JsonElement literal)
    {
        _path = path;
        _operator = @operator;
        _literal = literal;
    }

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(string? text, out ConsumerFilter? filter, out string error)
    {
        filter = null;
        error = Validate(text, out var path, out var @operator, out var literal);
        if (error.Length > 0)
            return false;
        filter = new ConsumerFilter(path!, @operator, literal);
        return true;
    }

    /// <summary>Whether the JSON payload matches; a payload that is not a JSON object matches nothing.</summary>
    public bool Matches(ReadOnlyMemory<byte> utf8Json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8Json, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException)
        {
            return false;
        }
        using (document)
        {
            var element = document.RootElement;
            foreach (var key in _path)
            {
                if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(key, out element))
                    return false;
            }
            return Compare(element) is { } order && _operator switch
            {
                FilterOperator.Equal => order == 0,
                FilterOperator.NotEqual => order != 0,
                FilterOperator.Less => order < 0,
                FilterOperator.LessOrEqual => order <= 0,
                FilterOperator.Greater => order > 0,
                FilterOperator.GreaterOrEqual => order >= 0,
                _ => false,
            };
        }
    }

    /// <summary>The filter in canonical form: <c>path op literal</c> with single spaces.</summary>
    public override string ToString() =>
        $"{string.Join('.', _path)} {Operators[(int)_operator]} {_literal.GetRawText()}";

    /// <summary>The field's order against the literal; null when they cannot be compared (different JSON types).</summary>
    private int? Compare(JsonElement value)
    {
        switch (Kind(value.ValueKind), Kind(_literal.ValueKind))
        {
            case (JsonValueKind.String, JsonValueKind.String):
                return Math.Sign(string.CompareOrdinal(value.GetString(), _literal.GetString()));
            case (JsonValueKind.Number, JsonValueKind.Number):
                if (value.TryGetDecimal(out var left) && _literal.TryGetDecimal(out var right))
                    return left.CompareTo(right);
                return value.TryGetDouble(out var leftDouble) && _literal.TryGetDouble(out var rightDouble)
                       && double.IsFinite(leftDouble) && double.IsFinite(rightDouble)
                    ? leftDouble.CompareTo(rightDouble)
                    : null;
            case (JsonValueKind.True, JsonValueKind.True):
                return value.GetBoolean() == _literal.GetBoolean() ? 0 : 1;
            case (JsonValueKind.Null, JsonValueKind.Null):
                return 0;
            default:
                return null;
        }
    }

    // True and False are one JSON type, boolean.
    private static JsonValueKind Kind(JsonValueKind kind) => kind == JsonValueKind.False ? JsonValueKind.True : kind;

    private static string Validate(string? text, out string[]? path, out FilterOperator @operator, out JsonElement literal)
    {
        path = null;
        @operator = default;
        literal = default;
        if (string.IsNullOrWhiteSpace(text))
            return "the filter is empty";
        if (text.Length > MaxLength)
            return $"the filter is longer than {MaxLength} characters";
        if (!TextRule.IsWellFormedUtf16(text))
            return "the filter is not well-formed text (an unpaired surrogate)";

        var rest = text.AsSpan().Trim();
        var pathEnd = 0;
        while (pathEnd < rest.Length && IsPathChar(rest[pathEnd]))
            pathEnd++;
        if (pathEnd == 0)
            return "the filter must start with a field path (dot-separated object keys)";
        var keys = rest[..pathEnd].ToString().Split('.');
        if (keys.Any(key => key.Length == 0))
            return "the field path has an empty key";
        if (keys.Length > MaxDepth)
            return $"the field path is deeper than {MaxDepth} keys";

        rest = rest[pathEnd..].TrimStart();
        var index = 0;
        while (index < Operators.Length && !rest.StartsWith(Operators[index], StringComparison.Ordinal))
            index++;
        if (index == Operators.Length)
            return "expected one of == != < <= > >= after the field path";
        @operator = (FilterOperator)index;
        rest = rest[Operators[index].Length..].Trim();
        if (rest.IsEmpty)
            return "expected a JSON literal after the operator";

        try
        {
            using var document = JsonDocument.Parse(rest.ToString());
            literal = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return "the literal is not a JSON string, number, true, false or null";
        }
        if (literal.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
            return "the literal must be a JSON scalar: a string, number, true, false or null";
        if (@operator is not (FilterOperator.Equal or FilterOperator.NotEqual)
            && literal.ValueKind is not (JsonValueKind.String or JsonValueKind.Number))
            return $"{Operators[index]} compares strings and numbers only";
        if (literal.ValueKind == JsonValueKind.Number && !literal.TryGetDecimal(out _)
            && !(literal.TryGetDouble(out var number) && double.IsFinite(number)))
            return "the number is out of range";
        path = keys;
        return "";
    }

    private static bool IsPathChar(char c) =>
        !char.IsWhiteSpace(c) && !char.IsControl(c) && c is not ('=' or '!' or '<' or '>' or '"');

    private enum FilterOperator
    {
        Equal,
        NotEqual,
        LessOrEqual,
        GreaterOrEqual,
        Less,
        Greater,
    }
}

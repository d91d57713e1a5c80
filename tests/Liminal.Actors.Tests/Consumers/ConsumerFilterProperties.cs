using System.Globalization;
using System.Text;
using System.Text.Json;
using CsCheck;
using Liminal.Actors.Consumers;

namespace Liminal.Actors.Tests.Consumers;

/// <summary>
/// The durable consumer filter (SPEC §2.6) against a model: a payload whose field at the path holds a random scalar,
/// compared with a random literal, matches exactly when the model says so; random text never throws and either parses
/// or names its problem; random bytes as payload never throw and never match.
/// </summary>
public sealed class ConsumerFilterProperties
{
    /// <summary>A JSON scalar as the model sees it.</summary>
    private abstract record Scalar
    {
        public sealed record Text(string Value) : Scalar;
        public sealed record Number(decimal Value) : Scalar;
        public sealed record Boolean(bool Value) : Scalar;
        public sealed record Null : Scalar;

        public string Json => this switch
        {
            Text text => JsonSerializer.Serialize(text.Value),
            Number number => number.Value.ToString(CultureInfo.InvariantCulture),
            Boolean boolean => boolean.Value ? "true" : "false",
            _ => "null",
        };
    }

    private static readonly Gen<Scalar> Scalars = Gen.OneOf<Scalar>(
        Gen.OneOf("", "a", "b", "gold", "Gold", "é", "\u00e9t\u00e9", "😀", "a b").Select(s => (Scalar)new Scalar.Text(s)),
        Gen.Int[-3, 3].Select(n => (Scalar)new Scalar.Number(n)),
        Gen.OneOf(0.5m, -0.5m, 1e10m, 3.0m).Select(n => (Scalar)new Scalar.Number(n)),
        Gen.Bool.Select(b => (Scalar)new Scalar.Boolean(b)),
        Gen.Const((Scalar)new Scalar.Null()));

    private static readonly string[] Operators = ["==", "!=", "<", "<=", ">", ">="];

    private static readonly Gen<string[]> Paths = Gen.OneOf("amount", "customer", "tier", "x-y", "ключ", "$k").Array[1, 3];

    /// <summary>What the filter must answer: different JSON types never match, ordering only on strings and numbers.</summary>
    private static bool ModelMatches(Scalar? value, string op, Scalar literal)
    {
        int? order = (value, literal) switch
        {
            (Scalar.Text a, Scalar.Text b) => Math.Sign(string.CompareOrdinal(a.Value, b.Value)),
            (Scalar.Number a, Scalar.Number b) => a.Value.CompareTo(b.Value),
            (Scalar.Boolean a, Scalar.Boolean b) => a.Value == b.Value ? 0 : 1,
            (Scalar.Null, Scalar.Null) => 0,
            _ => null,
        };
        return order is { } o && op switch
        {
            "==" => o == 0,
            "!=" => o != 0,
            "<" => o < 0,
            "<=" => o <= 0,
            ">" => o > 0,
            _ => o >= 0,
        };
    }

    private static string Nest(string[] path, string leafJson)
    {
        var json = leafJson;
        for (var i = path.Length - 1; i >= 0; i--)
            json = $"{{{JsonSerializer.Serialize(path[i])}:{json},\"other\":1}}";
        return json;
    }

    [Fact]
    public void A_field_matches_exactly_when_the_model_says_so()
    {
        Gen.Select(Paths, Gen.OneOf(Operators), Scalars, Scalars, Gen.Int[0, 2]).Sample((path, op, literal, value, shape) =>
        {
            var text = $"{string.Join('.', path)} {op} {literal.Json}";
            var ordering = op is not ("==" or "!=");
            var parsed = ConsumerFilter.TryParse(text, out var filter, out var error);
            if (ordering && literal is Scalar.Boolean or Scalar.Null)
            {
                Assert.False(parsed, $"'{text}' orders a boolean or null and must be refused");
                Assert.Contains("strings and numbers", error);
                return;
            }
            Assert.True(parsed, $"'{text}': {error}");
            // shape 0: the field is there; 1: the last key is missing; 2: the payload is not an object at all.
            (string payload, bool present) = shape switch
            {
                0 => (Nest(path, value.Json), true),
                1 => (Nest(path[..^1], "{\"elsewhere\":" + value.Json + "}"), false),
                _ => (value.Json, false),
            };
            var expected = present && ModelMatches(value, op, literal);
            Assert.True(expected == filter!.Matches(Encoding.UTF8.GetBytes(payload)), $"'{text}' on {payload}: expected {expected}");
        }, iter: 5_000);
    }

    [Theory]
    [InlineData("amount > 10", "{\"amount\":11}", true)]
    [InlineData("amount > 10", "{\"amount\":10}", false)]
    [InlineData("amount > 10", "{\"amount\":\"11\"}", false)]
    [InlineData("customer.tier == \"gold\"", "{\"customer\":{\"tier\":\"gold\"}}", true)]
    [InlineData("customer.tier == \"gold\"", "{\"customer\":[{\"tier\":\"gold\"}]}", false)]
    [InlineData("flag != true", "{\"flag\":false}", true)]
    [InlineData("flag != true", "{}", false)]
    [InlineData("flag != true", "{\"flag\":\"false\"}", false)]
    [InlineData("n == 1", "{\"n\":1.0}", true)]
    [InlineData("n == 1e2", "{\"n\":100}", true)]
    [InlineData("n<=-1.5", "{\"n\":-2}", true)]
    [InlineData("name == \"a\\u00e9\"", "{\"name\":\"aé\"}", true)]
    [InlineData("v == null", "{\"v\":null}", true)]
    [InlineData("v != null", "{\"v\":0}", false)]
    public void The_examples_of_the_spec_hold(string text, string payload, bool matches)
    {
        Assert.True(ConsumerFilter.TryParse(text, out var filter, out var error), error);
        Assert.Equal(matches, filter!.Matches(Encoding.UTF8.GetBytes(payload)));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("== 1", "field path")]
    [InlineData("a..b == 1", "empty key")]
    [InlineData("a.b", "one of")]
    [InlineData("a = 1", "one of")]
    [InlineData("a ==", "literal")]
    [InlineData("a == gold", "not a JSON")]
    [InlineData("a == {\"b\":1}", "scalar")]
    [InlineData("a == [1]", "scalar")]
    [InlineData("a == 1 2", "not a JSON")]
    [InlineData("a > true", "strings and numbers")]
    [InlineData("a < null", "strings and numbers")]
    [InlineData("a == 1e999", "out of range")]
    public void A_malformed_filter_is_refused_naming_the_problem(string text, string problem)
    {
        Assert.False(ConsumerFilter.TryParse(text, out var filter, out var error));
        Assert.Null(filter);
        Assert.Contains(problem, error);
    }

    [Fact]
    public void A_filter_with_an_unpaired_surrogate_is_refused()
    {
        // Not an InlineData: xUnit's test case serialization replaces a lone surrogate with U+FFFD.
        Assert.False(ConsumerFilter.TryParse("a\uD800 == 1", out _, out var error));
        Assert.Contains("well-formed", error);
        Assert.False(ConsumerFilter.TryParse("a == \"\uDC00\"", out _, out error));
        Assert.Contains("well-formed", error);
    }

    [Fact]
    public void Filters_longer_or_deeper_than_the_limits_are_refused()
    {
        Assert.False(ConsumerFilter.TryParse("a == \"" + new string('x', ConsumerFilter.MaxLength) + "\"", out _, out var tooLong));
        Assert.Contains("longer", tooLong);
        var deep = string.Join('.', Enumerable.Repeat("k", ConsumerFilter.MaxDepth + 1)) + " == 1";
        Assert.False(ConsumerFilter.TryParse(deep, out _, out var tooDeep));
        Assert.Contains("deeper", tooDeep);
        Assert.True(ConsumerFilter.TryParse(string.Join('.', Enumerable.Repeat("k", ConsumerFilter.MaxDepth)) + " == 1", out _, out var error), error);
    }

    [Fact]
    public void A_parsed_filter_prints_in_canonical_form_and_parses_back_the_same()
    {
        Gen.Select(Paths, Gen.OneOf("==", "!="), Scalars, Gen.OneOf(" ", "", "  ", "\t")).Sample((path, op, literal, space) =>
        {
            var text = $"{space}{string.Join('.', path)}{space}{op}{space}{literal.Json}{space}";
            Assert.True(ConsumerFilter.TryParse(text, out var filter, out var error), error);
            var canonical = filter!.ToString();
            Assert.Equal($"{string.Join('.', path)} {op} {literal.Json}", canonical);
            Assert.True(ConsumerFilter.TryParse(canonical, out var again, out _));
            Assert.Equal(canonical, again!.ToString());
        }, iter: 2_000);
    }

    [Fact]
    public void Random_text_never_throws_and_is_either_a_filter_or_a_named_problem()
    {
        Gen.String[Gen.Char, 0, 80].Sample(text =>
        {
            var parsed = ConsumerFilter.TryParse(text, out var filter, out var error);
            Assert.True(parsed ? filter is not null && error.Length == 0 : filter is null && error.Length > 0, $"'{text}'");
        }, iter: 20_000);
        Gen.Select(Gen.OneOf("a", "a.b", "", "."), Gen.OneOf("==", "!=", "<", ">=", "=", "!", ""), Gen.String[Gen.Char.AlphaNumeric, 0, 8])
            .Sample((path, op, literal) =>
            {
                var text = path + op + literal;
                var parsed = ConsumerFilter.TryParse(text, out var filter, out var error);
                Assert.True(parsed ? filter is not null : error.Length > 0, $"'{text}'");
            }, iter: 5_000);
    }

    [Fact]
    public void Random_bytes_as_payload_never_throw_and_never_match_when_not_json()
    {
        Assert.True(ConsumerFilter.TryParse("a != 1", out var filter, out _));
        Gen.Byte.Array[0, 64].Sample(bytes =>
        {
            var matches = filter!.Matches(bytes);
            if (matches)
            {
                // Random bytes match only when they happen to be a JSON object whose "a" is a number other than 1.
                using var document = JsonDocument.Parse(bytes);
                Assert.Equal(JsonValueKind.Number, document.RootElement.GetProperty("a").ValueKind);
            }
        }, iter: 20_000);
    }
}

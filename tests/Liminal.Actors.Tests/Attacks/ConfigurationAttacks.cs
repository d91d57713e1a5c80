namespace Liminal.Actors.Tests.Attacks;

/// <summary>
/// Wrong values for every numeric, size and duration key of <c>liminal.conf</c>, from the command line: the host
/// refuses to build with a <see cref="LiminalConfigurationException"/> naming that key, never another exception and
/// never a host with a wrong value.
/// </summary>
public sealed class ConfigurationAttacks
{
    private static readonly string[] Numbers =
    [
        "liminal:snapshot-every", "liminal:dedup:shards", "liminal:dedup:max-keys-per-shard", "liminal:channel-dedup:max-keys-per-partition",
        "liminal:channel-limits:max-publishes-in-flight", "liminal:conversations:keep-outputs-of-finished", "liminal:entities:buffer-size",
        "liminal:host:health-port", "liminal:host:remote:port",
    ];

    private static readonly string[] Durations =
    [
        "liminal:drain-timeout", "liminal:dedup:ttl", "liminal:dedup:sweep-interval", "liminal:channel-limits:schema-load-timeout",
        "liminal:conversations:idle-timeout", "liminal:conversations:lease", "liminal:conversations:retention", "liminal:offsets:idle-timeout",
        "liminal:offsets:retention", "liminal:entities:min-backoff", "liminal:entities:max-backoff",
    ];

    private static readonly string[] BadNumbers = ["", "abc", "-1", "99999999999999999999", "1.5", "1e3x", "{", "[1]", "0x10", " "];

    private static readonly string[] BadDurations = ["", "abc", "-1s", "99999999999999999999d", "1 fortnight", "{", "[1]", " "];

    public static TheoryData<string, string> Bad()
    {
        var data = new TheoryData<string, string>();
        foreach (var key in Numbers)
            foreach (var value in BadNumbers)
                data.Add(key, value);
        foreach (var key in Durations)
            foreach (var value in BadDurations)
                data.Add(key, value);
        foreach (var value in new[] { "", "abc", "-1", "1.5", "99999999999999999999", "17MiB", "1023" })
            data.Add("liminal:max-payload-bytes", value);
        foreach (var value in new[] { "", "mongo", "sqlite3" })
            data.Add("liminal:journal:kind", value);
        foreach (var value in new[] { "", "not a url", "ftp://x", "http://" })
            data.Add("liminal:telemetry:otlp-endpoint", value == "" ? "http//x" : value);
        return data;
    }

    [Theory]
    [MemberData(nameof(Bad))]
    public void A_wrong_value_of_any_key_is_refused_with_that_key_named(string key, string value)
    {
        var options = HostSpecsOptions(["--" + key, value]);

        var error = Assert.Throws<LiminalConfigurationException>(() => { using var _ = (IDisposable)Liminal.Host.LiminalHost.Build(options); });

        var dotted = key.Replace(':', '.');
        Assert.True(error.Problems.Any(p => p.StartsWith(dotted, StringComparison.Ordinal)), $"{key} = '{value}': {string.Join(" | ", error.Problems)}");
    }

    [Fact]
    public void Wrong_values_of_many_keys_are_all_listed_at_once()
    {
        var keys = Numbers.Concat(Durations).ToList();
        var error = Assert.Throws<LiminalConfigurationException>(() =>
            { using var _ = (IDisposable)Liminal.Host.LiminalHost.Build(HostSpecsOptions([.. keys.SelectMany(k => new[] { "--" + k, "-5x" })])); });

        var unnamed = keys.Select(k => k.Replace(':', '.')).Where(k => !error.Problems.Any(p => p.StartsWith(k, StringComparison.Ordinal))).ToList();
        Assert.True(unnamed.Count == 0, "not named: " + string.Join(", ", unnamed));
    }

    private static string[] HostSpecsOptions(string[] more) =>
        ["--liminal:journal:sqlite-path", TestSupport.TestDatabase.NewPath(), .. more];
}

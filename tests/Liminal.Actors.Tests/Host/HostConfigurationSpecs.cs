using System.Text.Json;
using System.Text.RegularExpressions;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Host;

/// <summary>
/// The host process reads <c>appsettings.json</c> in its working directory, environment variables and its command
/// line, over the HOCON files; it refuses a bad configuration with every problem and exit code 2.
/// </summary>
public sealed class HostConfigurationSpecs
{
    private static string NewDirectory()
    {
        var directory = Path.GetDirectoryName(TestDatabase.NewPath())!;
        directory = Path.Combine(directory, $"host-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        return directory;
    }

    [Fact]
    public void Appsettings_json_environment_command_line_and_config_file_each_take_effect_and_all_problems_are_listed_with_exit_code_2()
    {
        var directory = NewDirectory();
        File.WriteAllText(Path.Combine(directory, "appsettings.json"), """{ "liminal": { "dedup": { "ttl": "0s" } } }""");
        File.WriteAllText(Path.Combine(directory, "bad.conf"), "liminal.conversations.lease = 0s");
        using var host = new HostProcess(directory, ["--config", "bad.conf", "--liminal:snapshot-every", "0"],
            new Dictionary<string, string> { ["LIMINAL__DEDUP__SHARDS"] = "0" });

        var exitCode = host.RunToExit();

        var errors = host.Errors;
        Assert.True(exitCode == 2, string.Join('\n', host.Output.Concat(errors)));
        Assert.Equal("liminal: the configuration has 4 problem(s); not starting:", errors[0]);
        Assert.Contains(errors, line => line.StartsWith("  - liminal.dedup.ttl: "));                 // appsettings.json
        Assert.Contains(errors, line => line.StartsWith("  - liminal.dedup.shards: "));              // environment
        Assert.Contains(errors, line => line.StartsWith("  - liminal.snapshot-every: "));            // command line
        Assert.Contains(errors, line => line.StartsWith("  - liminal.conversations.lease: "));       // --config FILE
    }

    [Fact]
    public void Command_line_wins_over_environment_over_appsettings_json_over_the_config_file()
    {
        // Each key is set (to a value naming its source) in the config file and in every source above it up to one.
        var directory = NewDirectory();
        File.WriteAllText(Path.Combine(directory, "layer.conf"), """
            liminal.journal.kind = from-config
            liminal.dedup.shards = from-config
            liminal.snapshot-every = from-config
            liminal.dedup.max-keys-per-shard = from-config
            """);
        File.WriteAllText(Path.Combine(directory, "appsettings.json"), """
            { "liminal": { "journal": { "kind": "from-json" }, "dedup": { "shards": "from-json" }, "snapshot-every": "from-json" } }
            """);
        using var host = new HostProcess(directory, ["--config", "layer.conf", "--liminal:journal:kind", "from-command-line"],
            new Dictionary<string, string>
            {
                ["LIMINAL__JOURNAL__KIND"] = "from-environment",
                ["LIMINAL__DEDUP__SHARDS"] = "from-environment",
            });

        var exitCode = host.RunToExit();

        var errors = string.Join('\n', host.Errors);
        Assert.True(exitCode == 2, errors);
        Assert.Contains("liminal.journal.kind: 'from-command-line'", errors);
        Assert.Contains("liminal.dedup.shards: 'from-environment'", errors);
        Assert.Contains("liminal.snapshot-every: 'from-json'", errors);
        Assert.Contains("liminal.dedup.max-keys-per-shard: 'from-config'", errors);
    }

    [Fact]
    public async Task With_log_format_json_every_line_is_a_JSON_object_and_a_request_line_carries_the_callers_trace_id()
    {
        var directory = NewDirectory();
        var environment = new Dictionary<string, string>
        {
            ["LIMINAL__JOURNAL__SQLITE_PATH"] = Path.Combine(directory, "liminal.db"),
            ["LIMINAL__HOST__HEALTH_PORT"] = HostSpecs.FreePort().ToString(),
            ["LIMINAL__HOST__REMOTE__PORT"] = HostSpecs.FreePort().ToString(),
            ["LIMINAL__DEDUP__SHARDS"] = "2",
        };
        using var host = new HostProcess(directory, ["--log-format", "json", "--Logging:LogLevel:Microsoft.AspNetCore", "Information"], environment);
        host.Start();
        await host.WaitUntilReadyAsync();
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        using (var http = new HttpClient())
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{host.HealthPort}/health");
            request.Headers.Add("traceparent", $"00-{traceId}-00f067aa0ba902b7-01");
            (await http.SendAsync(request)).EnsureSuccessStatusCode();
        }
        Assert.Equal(0, host.Terminate());

        // Once the host has disposed the logger factory, Akka may print its last lines itself, in its own format.
        var afterLoggersStopped = new Regex(@"^\[INFO\]\[[^\]]+\]\[Thread \d+\]\[remoting[^\]]*\] Remoting shut down\.?$");
        var lines = host.Output.Where(line => !afterLoggersStopped.IsMatch(line)).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        Assert.Contains(lines, line => line.GetProperty("Message").GetString()!.Contains("Remote clients reach the bus at akka.tcp://liminal@"));
        var requestLine = Assert.Single(lines, line =>
            line.GetProperty("Category").GetString() == "Microsoft.AspNetCore.Hosting.Diagnostics"
            && line.GetProperty("Message").GetString()!.StartsWith("Request starting HTTP/1.1 GET http://127.0.0.1:")
            && line.GetProperty("Message").GetString()!.Contains("/health"));
        Assert.Contains(requestLine.GetProperty("Scopes").EnumerateArray(),
            scope => scope.TryGetProperty("TraceId", out var id) && id.GetString() == traceId);
    }
}

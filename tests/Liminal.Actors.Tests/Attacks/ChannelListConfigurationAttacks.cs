using System.Text;
using Liminal.Host.Configuration;
using Microsoft.Extensions.Configuration;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>The channel list, the one nested list of the configuration, from appsettings.json, environment and command line.</summary>
public sealed class ChannelListConfigurationAttacks
{
    private static HostConfiguration Load(string? json = null, Dictionary<string, string?>? environment = null, string[]? commandLine = null, string? configFile = null)
    {
        var builder = new ConfigurationBuilder();
        if (json is not null)
            builder.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json)));
        if (environment is not null)
            builder.AddInMemoryCollection(environment);
        if (configFile is not null)
        {
            var path = Path.Combine(Path.GetTempPath(), $"liminal-{Guid.NewGuid():N}.conf");
            File.WriteAllText(path, configFile);
            builder.AddInMemoryCollection([new("config", path)]);
        }
        builder.AddCommandLine(commandLine ?? []);
        return HostConfiguration.Load(builder.Build());
    }

    [Fact]
    public void A_channel_list_in_appsettings_json_is_read_with_every_field()
    {
        var loaded = Load(json: """{ "liminal": { "channels": [ { "name": "orders", "durable": true, "partitions": 3 }, { "name": "events", "durable": false } ] } }""");

        Assert.Empty(loaded.Problems);
        Assert.Equal(["orders", "events"], loaded.Settings.Channels.Select(c => c.Name));
        Assert.Equal((true, 3), (loaded.Settings.Channels[0].Durable, loaded.Settings.Channels[0].Partitions));
        Assert.False(loaded.Settings.Channels[1].Durable);
    }

    [Fact]
    public void A_channel_list_on_the_command_line_replaces_the_one_of_the_config_file()
    {
        var loaded = Load(configFile: """liminal.channels = [ { name = "from-file", durable = true } ]""",
            commandLine: ["--liminal:channels:0:name", "from-command-line", "--liminal:channels:0:durable", "true"]);

        Assert.Empty(loaded.Problems);
        Assert.Equal(["from-command-line"], loaded.Settings.Channels.Select(c => c.Name));
    }

    public static TheoryData<string, string[]> WrongChannelLists() => new()
    {
        { """{ "liminal": { "channels": [ { "name": "orders", "durable": "maybe", "partitions": "many" } ] } }""", ["liminal.channels[0].durable", "liminal.channels[0].partitions"] },
        { """{ "liminal": { "channels": [ "orders" ] } }""", ["liminal.channels[0]"] },
        { """{ "liminal": { "channels": [ { "name": "a", "partitions": "99999999999999999999" }, { "durable": true } ] } }""", ["liminal.channels[0].partitions", "liminal.channels[1].name"] },
        { """{ "liminal": { "channels": [ { "name": { "x": 1 } } ] } }""", ["liminal.channels[0].name"] },
    };

    [Theory]
    [MemberData(nameof(WrongChannelLists))]
    public void A_channel_entry_with_a_wrong_field_is_a_problem_named_by_its_key_never_an_exception(string json, string[] keys)
    {
        var loaded = Load(json: json);

        foreach (var key in keys)
            Assert.True(loaded.Problems.Any(p => p.StartsWith(key, StringComparison.Ordinal)), $"{key} not in: {string.Join(" | ", loaded.Problems)}");
        Assert.All(loaded.Problems, p => Assert.StartsWith("liminal.channels", p));
    }

    [Fact]
    public void A_channel_list_that_is_no_list_is_a_problem_named_by_its_key()
    {
        var loaded = Load(commandLine: ["--liminal:channels", "orders"]);

        Assert.Contains(loaded.Problems, p => p.StartsWith("liminal.channels", StringComparison.Ordinal));
    }

    [Fact]
    public void A_wrong_channel_field_in_the_host_process_exits_2_listing_it_without_a_stack_trace()
    {
        var directory = Path.Combine(Path.GetDirectoryName(TestSupport.TestDatabase.NewPath())!, $"host-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "appsettings.json"), """{ "liminal": { "channels": [ { "name": "orders", "durable": "maybe" } ] } }""");
        using var host = new TestSupport.HostProcess(directory, [], new Dictionary<string, string>());

        var exitCode = host.RunToExit();

        Assert.True(exitCode == 2, string.Join('\n', host.Output.Concat(host.Errors)));
        Assert.Contains(host.Errors, line => line.StartsWith("  - liminal.channels[0].durable: "));
        Assert.DoesNotContain(host.Output.Concat(host.Errors), line => line.TrimStart().StartsWith("at ", StringComparison.Ordinal));
    }
}

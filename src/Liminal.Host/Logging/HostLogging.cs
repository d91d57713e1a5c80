using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Liminal.Host.Logging;

/// <summary>
/// The host logs through Microsoft.Extensions.Logging's console logger; Akka's log goes there too (Akka.Hosting's
/// logger factory). <c>--log-format json</c> (or <c>Logging:Console:FormatterName=json</c>) writes one JSON object
/// a line. Scopes are written, so a line logged while an <see cref="System.Diagnostics.Activity"/> is current
/// carries its trace and span ids.
/// </summary>
public static class HostLogging
{
    /// <summary>Command-line switches that are short names for configuration keys.</summary>
    public static IDictionary<string, string> Switches { get; } = new Dictionary<string, string>
    {
        ["--log-format"] = "Logging:Console:FormatterName",
    };

    /// <summary>
    /// <c>--log-format</c>, and request logging at Warning unless configured otherwise: an orchestrator probing
    /// <c>/health</c> every few seconds would otherwise write four lines a probe.
    /// </summary>
    public static void AddLiminalLoggingDefaults(this IConfigurationManager configuration, string[] args)
    {
        configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = [new("Logging:LogLevel:Microsoft.AspNetCore", "Warning")],
        });
        configuration.AddCommandLine(args, Switches);
    }

    public static ILoggingBuilder AddLiminalConsole(this ILoggingBuilder logging, IConfiguration configuration)
    {
        logging.Configure(options => options.ActivityTrackingOptions =
            ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId | ActivityTrackingOptions.ParentId);
        logging.AddConsole();
        // WebApplication.CreateSlimBuilder sets the simple formatter after binding Logging:Console; bound again, it is chosen.
        logging.Services.Configure<ConsoleLoggerOptions>(configuration.GetSection("Logging:Console"));
        logging.Services.Configure<SimpleConsoleFormatterOptions>(options =>
        {
            options.SingleLine = true;
            options.IncludeScopes = true;
        });
        logging.Services.Configure<JsonConsoleFormatterOptions>(options => options.IncludeScopes = true);
        return logging;
    }
}

using Liminal.Host;

var configuration = HostConfiguration.Load(args, Environment.GetEnvironmentVariables());
if (configuration.Problems.Count > 0)
{
    Console.Error.WriteLine($"liminal: the configuration has {configuration.Problems.Count} problem(s); not starting:");
    foreach (var problem in configuration.Problems)
        Console.Error.WriteLine($"  - {problem}");
    return 2;
}

var host = LiminalHost.Build(configuration, args);
await host.RunAsync();
return 0;

using Liminal.Actors;
using Liminal.Host;

Microsoft.AspNetCore.Builder.WebApplication host;
try
{
    host = LiminalHost.Build(args);
}
catch (LiminalConfigurationException error)
{
    Console.Error.WriteLine($"liminal: the configuration has {error.Problems.Count} problem(s); not starting:");
    foreach (var problem in error.Problems)
        Console.Error.WriteLine($"  - {problem}");
    return 2;
}

await host.RunAsync();
return 0;

using Liminal.Host;
using Microsoft.Extensions.Hosting;

var host = LiminalHost.Build(args);
await host.RunAsync();

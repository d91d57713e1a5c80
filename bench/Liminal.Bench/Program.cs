using Liminal.Bench;

return await BenchCommand.RunAsync(args);

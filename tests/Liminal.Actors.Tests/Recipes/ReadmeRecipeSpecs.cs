using System.Text.RegularExpressions;

namespace Liminal.Actors.Tests.Recipes;

/// <summary>The README's exactly-once section quotes samples/Recipes, which the specs compile and run: what it shows cannot rot.</summary>
public sealed class ReadmeRecipeSpecs
{
    private const string Section = "## Exactly-once processing with a durable consumer";

    [Fact]
    public void Every_snippet_of_the_READMEs_exactly_once_section_is_quoted_from_the_recipes_the_specs_run()
    {
        var root = RepositoryRoot();
        var readme = File.ReadAllText(Path.Combine(root, "README.md")).ReplaceLineEndings("\n");
        var start = readme.IndexOf(Section, StringComparison.Ordinal);
        Assert.True(start >= 0, $"README.md has no section \"{Section}\"");
        var end = readme.IndexOf("\n## ", start + Section.Length, StringComparison.Ordinal);
        var snippets = Regex.Matches(readme[start..(end < 0 ? readme.Length : end)], "```csharp\n(.*?)```", RegexOptions.Singleline)
            .Select(match => Normalized(match.Groups[1].Value)).ToList();
        var recipes = Directory.GetFiles(Path.Combine(root, "samples", "Recipes"), "*.cs").Select(file => Normalized(File.ReadAllText(file))).ToList();

        Assert.Equal(3, snippets.Count);
        Assert.All(snippets, snippet => Assert.Contains(recipes, recipe => recipe.Contains(snippet, StringComparison.Ordinal)));
    }

    // A quote may be indented differently from its source.
    private static string Normalized(string code) =>
        string.Join("\n", code.ReplaceLineEndings("\n").Split('\n').Select(line => line.Trim()).Where(line => line.Length > 0));

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Liminal.sln")))
                return directory.FullName;
        }
        throw new InvalidOperationException($"no Liminal.sln above {AppContext.BaseDirectory}: the tests run outside the repository");
    }
}

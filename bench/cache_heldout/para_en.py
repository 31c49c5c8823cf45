# ruff: noqa: E501, RUF001
# Hand-written prompt pairs, one a line; non-Latin and look-alike characters on purpose.
"""English paraphrases: A's answer serves B. (kind, a, b)"""

PARA_EN = [
    # contractions
    (
        "p_contraction",
        "What is the difference between a list and a tuple in Python?",
        "What's the difference between a list and a tuple in Python?",
    ),
    (
        "p_contraction",
        "I cannot get my Docker container to start; what should I check first?",
        "I can't get my Docker container to start; what should I check first?",
    ),
    (
        "p_contraction",
        "Why is my flexbox not centering the div vertically?",
        "Why isn't my flexbox centering the div vertically?",
    ),
    (
        "p_contraction",
        "How do I fix 'permission denied' when I am running npm install -g?",
        "How do I fix 'permission denied' when I'm running npm install -g?",
    ),
    ("p_contraction", "Where is the hosts file on Windows?", "Where's the hosts file on Windows?"),
    (
        "p_contraction",
        "Let us say I have a list of numbers. How do I get the median in Python?",
        "Let's say I have a list of numbers. How do I get the median in Python?",
    ),
    (
        "p_contraction",
        "Who is the author of the novel Dune?",
        "Who's the author of the novel Dune?",
    ),
    (
        "p_contraction",
        "Why is 0.1 + 0.2 not exactly 0.3 in floating point?",
        "Why isn't 0.1 + 0.2 exactly 0.3 in floating point?",
    ),
    (
        "p_contraction",
        "What will happen if I do not close a file in Python?",
        "What'll happen if I don't close a file in Python?",
    ),
    (
        "p_contraction",
        "How should I handle errors in Go when I have multiple return values?",
        "How should I handle errors in Go when I've got multiple return values?",
    ),
    (
        "p_contraction",
        "There is a memory leak in my Node app. How do I find it?",
        "There's a memory leak in my Node app. How do I find it?",
    ),
    (
        "p_contraction",
        "They are asking for my Social Security number on a job application before any interview. Is that normal in the US?",
        "They're asking for my Social Security number on a job application before any interview. Is that normal in the US?",
    ),
    (
        "p_contraction",
        "It does not matter which order I pass the arguments to max() in Python, does it?",
        "It doesn't matter which order I pass the arguments to max() in Python, does it?",
    ),
    # synonyms
    (
        "p_synonym",
        "How do I make a big file full of random data on Linux?",
        "How do I create a large file full of random data on Linux?",
    ),
    (
        "p_synonym",
        "What is the quickest way to learn SQL?",
        "What is the fastest way to learn SQL?",
    ),
    (
        "p_synonym",
        "Show me how to remove a directory in Linux.",
        "Show me how to delete a directory in Linux.",
    ),
    (
        "p_synonym",
        "What are the symptoms of vitamin D deficiency?",
        "What are the signs of vitamin D deficiency?",
    ),
    (
        "p_synonym",
        "How can I speed up a slow pandas groupby?",
        "How can I make a slow pandas groupby faster?",
    ),
    ("p_synonym", "Explain how photosynthesis works.", "Describe how photosynthesis works."),
    (
        "p_synonym",
        "Write a function that checks whether a string is a palindrome.",
        "Write a function that determines whether a string is a palindrome.",
    ),
    (
        "p_synonym",
        "How do I begin learning the guitar as an adult?",
        "How do I start learning the guitar as an adult?",
    ),
    ("p_synonym", "Which foods are rich in iron?", "Which foods contain a lot of iron?"),
    (
        "p_synonym",
        "How do I fix a leaky kitchen faucet?",
        "How do I repair a dripping kitchen faucet?",
    ),
    (
        "p_synonym",
        "What's a good method for storing passwords in a database?",
        "What's a good way to store passwords in a database?",
    ),
    (
        "p_synonym",
        "Give me ideas for a kid's birthday party.",
        "Give me suggestions for a child's birthday party.",
    ),
    (
        "p_synonym",
        "How do I get the length of an array in JavaScript?",
        "How do I get the size of an array in JavaScript?",
    ),
    (
        "p_synonym",
        "Is it hard to learn Rust coming from Python?",
        "Is it difficult to learn Rust coming from Python?",
    ),
    ("p_synonym", "Help me pick a name for my bakery.", "Help me choose a name for my bakery."),
    (
        "p_synonym",
        "How do I merge two dictionaries in Python?",
        "How do I combine two dictionaries in Python?",
    ),
    (
        "p_synonym",
        "What is the main cause of inflation?",
        "What is the primary cause of inflation?",
    ),
    ("p_synonym", "How often should I water a cactus?", "How frequently should I water a cactus?"),
    (
        "p_synonym",
        "What does the error 'ModuleNotFoundError: No module named requests' mean?",
        "What is the meaning of the error 'ModuleNotFoundError: No module named requests'?",
    ),
    # typos
    ("p_typo", "How do I revese a string in Python?", "How do I reverse a string in Python?"),
    (
        "p_typo",
        "Wat is the boiling point of water at sea level?",
        "What is the boiling point of water at sea level?",
    ),
    (
        "p_typo",
        "Explain the diffrence between TCP and UDP.",
        "Explain the difference between TCP and UDP.",
    ),
    ("p_typo", "Whats the capital of Canada", "What's the capital of Canada?"),
    (
        "p_typo",
        "How do I center a div in CSS hte easy way?",
        "How do I center a div in CSS the easy way?",
    ),
    (
        "p_typo",
        "recomend a good book on distributed systems",
        "Recommend a good book on distributed systems.",
    ),
    (
        "p_typo",
        "How does garbage colection work in Java?",
        "How does garbage collection work in Java?",
    ),
    ("p_typo", "What are the benifits of meditation?", "What are the benefits of meditation?"),
    ("p_typo", "How many calroies are in a banana?", "How many calories are in a banana?"),
    (
        "p_typo",
        "Write a Pyhton script that renames all .txt files in a folder to .md",
        "Write a Python script that renames all .txt files in a folder to .md",
    ),
    (
        "p_typo",
        "Why does my React compnent render twice?",
        "Why does my React component render twice?",
    ),
    (
        "p_typo",
        "How long should I boil an egg for a sofy yolk?",
        "How long should I boil an egg for a soft yolk?",
    ),
    (
        "p_typo",
        "What is the defintion of entropy in thermodynamics?",
        "What is the definition of entropy in thermodynamics?",
    ),
    (
        "p_typo",
        "How do I instal Docker on Ubuntu 22.04?",
        "How do I install Docker on Ubuntu 22.04?",
    ),
    ("p_typo", "Explain Kubernetes pods like I'm fiev.", "Explain Kubernetes pods like I'm five."),
    (
        "p_typo",
        "Whcih is the tallest building in the world?",
        "Which is the tallest building in the world?",
    ),
    ("p_typo", "teh best way to learn touch typing?", "The best way to learn touch typing?"),
    # politeness and filler
    (
        "p_politeness",
        "Please convert this list to a set in Python: [1, 2, 2, 3]",
        "Convert this list to a set in Python: [1, 2, 2, 3]",
    ),
    (
        "p_politeness",
        "Could you tell me what the capital of Kenya is?",
        "What is the capital of Kenya?",
    ),
    (
        "p_politeness",
        "Hi! Can you explain what a closure is in JavaScript? Thanks!",
        "Explain what a closure is in JavaScript.",
    ),
    (
        "p_politeness",
        "I was wondering if you could summarize the causes of World War I for me.",
        "Summarize the causes of World War I.",
    ),
    (
        "p_politeness",
        "Would you mind writing a SQL query that counts orders per customer?",
        "Write a SQL query that counts orders per customer.",
    ),
    (
        "p_politeness",
        "Hey, quick question: how many fluid ounces are in a US cup?",
        "How many fluid ounces are in a US cup?",
    ),
    (
        "p_politeness",
        "Kindly list the three primary colors of light.",
        "List the three primary colors of light.",
    ),
    (
        "p_politeness",
        "If it's not too much trouble, please explain what DNS does.",
        "Explain what DNS does.",
    ),
    (
        "p_politeness",
        "Thanks in advance! How do I undo the last git commit but keep the changes?",
        "How do I undo the last git commit but keep the changes?",
    ),
    (
        "p_politeness",
        "Can you please give me a regex for a US ZIP code?",
        "Give me a regex for a US ZIP code.",
    ),
    (
        "p_politeness",
        "Sorry to bother you, but what's the speed of light in a vacuum?",
        "What's the speed of light in a vacuum?",
    ),
    ("p_politeness", "Please help, I'm stuck: how do I exit vim?", "How do I exit vim?"),
    (
        "p_politeness",
        "Could you kindly translate 'good morning' into German?",
        "Translate 'good morning' into German.",
    ),
    (
        "p_politeness",
        "Would you be able to tell me how many bones are in the adult human body?",
        "How many bones are in the adult human body?",
    ),
    (
        "p_politeness",
        "Please write a Python function that returns the factorial of n. Thank you!",
        "Write a Python function that returns the factorial of n.",
    ),
    (
        "p_politeness",
        "Hello there. I'd really appreciate it if you could explain what a mutex is.",
        "What is a mutex?",
    ),
    # case and punctuation
    ("p_case_punct", "what is the capital of japan", "What is the capital of Japan?"),
    (
        "p_case_punct",
        "HOW DO I CREATE A VIRTUAL ENVIRONMENT IN PYTHON?",
        "How do I create a virtual environment in Python?",
    ),
    ("p_case_punct", "Explain Big-O notation!!!", "Explain Big-O notation."),
    ("p_case_punct", "how many continents are there??", "How many continents are there?"),
    ("p_case_punct", "What is the speed of sound in air...", "What is the speed of sound in air?"),
    ("p_case_punct", "list three uses of baking soda", "List three uses of baking soda."),
    ("p_case_punct", "Who painted the Mona Lisa", "who painted the mona lisa?"),
    ("p_case_punct", "define: photosynthesis", "Define photosynthesis."),
    (
        "p_case_punct",
        "what's a good name for a golden retriever puppy?",
        "What's a good name for a Golden Retriever puppy?",
    ),
    ("p_case_punct", "Is Pluto a planet?!", "is pluto a planet"),
    (
        "p_case_punct",
        "How do I check which Python version I have? ",
        "how do i check which python version i have",
    ),
    ("p_case_punct", "tell me a fun fact about octopuses.", "Tell me a fun fact about octopuses!"),
    ("p_case_punct", "What is the GDP of Germany?", "what is the gdp of germany?"),
    (
        "p_case_punct",
        "How do I\n  join two\tlists in Python?",
        "How do I join two lists in Python?",
    ),
    ("p_case_punct", "Name the largest desert on Earth.", "Name the largest desert on Earth"),
    # US / UK spelling
    (
        "p_spelling_us_uk",
        "What is the best way to organize a small kitchen?",
        "What is the best way to organise a small kitchen?",
    ),
    ("p_spelling_us_uk", "What color is a flamingo and why?", "What colour is a flamingo and why?"),
    (
        "p_spelling_us_uk",
        "How do I analyze a CSV file with pandas?",
        "How do I analyse a CSV file with pandas?",
    ),
    (
        "p_spelling_us_uk",
        "What is at the center of the Milky Way?",
        "What is at the centre of the Milky Way?",
    ),
    (
        "p_spelling_us_uk",
        "How do I optimize a slow SQL query?",
        "How do I optimise a slow SQL query?",
    ),
    ("p_spelling_us_uk", "Is aluminum cookware safe to use?", "Is aluminium cookware safe to use?"),
    (
        "p_spelling_us_uk",
        "How do I apologize to a coworker professionally?",
        "How do I apologise to a coworker professionally?",
    ),
    (
        "p_spelling_us_uk",
        "What is the favorite food of giant pandas?",
        "What is the favourite food of giant pandas?",
    ),
    (
        "p_spelling_us_uk",
        "Explain the behavior of the this keyword in JavaScript.",
        "Explain the behaviour of the this keyword in JavaScript.",
    ),
    ("p_spelling_us_uk", "How are star catalogs compiled?", "How are star catalogues compiled?"),
    (
        "p_spelling_us_uk",
        "How long is a typical PhD program in the United States?",
        "How long is a typical PhD programme in the United States?",
    ),
    (
        "p_spelling_us_uk",
        "What does a gray screen at startup mean on a Mac?",
        "What does a grey screen at startup mean on a Mac?",
    ),
    (
        "p_spelling_us_uk",
        "How do I serialize an object to JSON in C#?",
        "How do I serialise an object to JSON in C#?",
    ),
    # active / passive
    ("p_voice", "Who wrote 'Pride and Prejudice'?", "By whom was 'Pride and Prejudice' written?"),
    ("p_voice", "Who discovered penicillin?", "Penicillin was discovered by whom?"),
    (
        "p_voice",
        "When did the Romans build Hadrian's Wall?",
        "When was Hadrian's Wall built by the Romans?",
    ),
    (
        "p_voice",
        "Which company created the Java programming language?",
        "By which company was the Java programming language created?",
    ),
    ("p_voice", "Who painted 'The Starry Night'?", "'The Starry Night' was painted by whom?"),
    ("p_voice", "What causes ocean tides?", "Ocean tides are caused by what?"),
    ("p_voice", "Who invented the telephone?", "By whom was the telephone invented?"),
    (
        "p_voice",
        "Which thread calls Activity.onCreate in Android?",
        "By which thread is Activity.onCreate called in Android?",
    ),
    (
        "p_voice",
        "Which country hosted the 2016 Summer Olympics?",
        "The 2016 Summer Olympics were hosted by which country?",
    ),
    (
        "p_voice",
        "Which team won the 2022 FIFA World Cup?",
        "The 2022 FIFA World Cup was won by which team?",
    ),
    # question vs imperative
    (
        "p_question_imperative",
        "What is the chemical formula of table salt?",
        "Tell me the chemical formula of table salt.",
    ),
    (
        "p_question_imperative",
        "How do I list all running processes on Linux?",
        "Show me how to list all running processes on Linux.",
    ),
    (
        "p_question_imperative",
        "Can you summarize the plot of Hamlet?",
        "Summarize the plot of Hamlet.",
    ),
    (
        "p_question_imperative",
        "What are the main differences between REST and GraphQL?",
        "Explain the main differences between REST and GraphQL.",
    ),
    ("p_question_imperative", "What is the Pythagorean theorem?", "State the Pythagorean theorem."),
    (
        "p_question_imperative",
        "How many minutes are in a day?",
        "Tell me how many minutes are in a day.",
    ),
    (
        "p_question_imperative",
        "Could you write a bash one-liner that counts the lines in all .py files?",
        "Write a bash one-liner that counts the lines in all .py files.",
    ),
    (
        "p_question_imperative",
        "What's the syntax for a list comprehension in Python?",
        "Give me the syntax for a list comprehension in Python.",
    ),
    (
        "p_question_imperative",
        "Which HTTP status code means 'Too Many Requests'?",
        "Name the HTTP status code that means 'Too Many Requests'.",
    ),
    (
        "p_question_imperative",
        "What does the acronym NASA stand for?",
        "Spell out the acronym NASA.",
    ),
    (
        "p_question_imperative",
        "How do you make cold brew coffee?",
        "Give me instructions for making cold brew coffee.",
    ),
    (
        "p_question_imperative",
        "Who was the first person to walk on the Moon?",
        "Name the first person to walk on the Moon.",
    ),
    ("p_question_imperative", "What is the derivative of sin(x)?", "Differentiate sin(x)."),
    (
        "p_question_imperative",
        "Is there a way to check if a key exists in a Python dict?",
        "Show me how to check if a key exists in a Python dict.",
    ),
    (
        "p_question_imperative",
        "What are the planets of the solar system, in order from the Sun?",
        "List the planets of the solar system in order from the Sun.",
    ),
    (
        "p_question_imperative",
        "Can you convert 'hello world' to title case?",
        "Convert 'hello world' to title case.",
    ),
    # reordered clauses
    (
        "p_reorder",
        "In Python, how do I read a file line by line?",
        "How do I read a file line by line in Python?",
    ),
    (
        "p_reorder",
        "Using JavaScript, how can I deep-copy an object?",
        "How can I deep-copy an object using JavaScript?",
    ),
    (
        "p_reorder",
        "For a complete beginner, which programming language is best to start with?",
        "Which programming language is best to start with for a complete beginner?",
    ),
    (
        "p_reorder",
        "If I have 3 apples and eat one, how many are left?",
        "How many apples are left if I have 3 and eat one?",
    ),
    (
        "p_reorder",
        "On macOS, where are screenshots saved by default?",
        "Where are screenshots saved by default on macOS?",
    ),
    (
        "p_reorder",
        "Given the list [3, 1, 2], sort it in descending order in Python.",
        "In Python, sort the list [3, 1, 2] in descending order.",
    ),
    (
        "p_reorder",
        "When running tests with pytest, how do I show print output?",
        "How do I show print output when running tests with pytest?",
    ),
    (
        "p_reorder",
        "To avoid SQL injection in PHP, what should I use?",
        "What should I use in PHP to avoid SQL injection?",
    ),
    (
        "p_reorder",
        "In SQL, what's the difference between WHERE and HAVING?",
        "What's the difference between WHERE and HAVING in SQL?",
    ),
    (
        "p_reorder",
        "Before a job interview, what should I research about the company?",
        "What should I research about the company before a job interview?",
    ),
    (
        "p_reorder",
        "Extract every email address from this text: 'Write to ann@example.com or bob@example.org.'",
        "From this text, extract every email address: 'Write to ann@example.com or bob@example.org.'",
    ),
    (
        "p_reorder",
        "With Git, how do I see the history of a single file?",
        "How do I see the history of a single file with Git?",
    ),
    (
        "p_reorder",
        "Explain, in simple terms, what a blockchain is.",
        "Explain what a blockchain is in simple terms.",
    ),
    (
        "p_reorder",
        "How do I, in Excel, freeze the top row?",
        "How do I freeze the top row in Excel?",
    ),
    (
        "p_reorder",
        "In a list of tuples, how do I sort by the second element in Python?",
        "How do I sort a list of tuples by the second element in Python?",
    ),
    # coding requests reworded (the code itself unchanged or only re-spaced)
    (
        "p_code",
        "Write a Python function that returns the sum of the even numbers in a list.",
        "Write a Python function that, given a list, returns the sum of its even numbers.",
    ),
    (
        "p_code",
        "What does this code print?\nnums = [1, 2, 3]\nprint(sum(nums))",
        "What is the output of this code?\nnums = [1, 2, 3]\nprint(sum(nums))",
    ),
    (
        "p_code",
        "Fix the bug:\ndef add(a, b):\n    return a - b",
        "There's a bug here, please fix it:\ndef add(a, b):\n    return a - b",
    ),
    (
        "p_code",
        "Convert this loop to a list comprehension:\nresult = []\nfor x in data:\n    result.append(x * 2)",
        "Rewrite this loop as a list comprehension:\nresult = []\nfor x in data:\n    result.append(x * 2)",
    ),
    (
        "p_code",
        "Explain this regex: ^[a-z0-9_-]{3,16}$",
        "What does the regex ^[a-z0-9_-]{3,16}$ do?",
    ),
    (
        "p_code",
        "Add type hints to this function:\ndef greet(name):\n    return 'Hello, ' + name",
        "Annotate this function with type hints:\ndef greet(name):\n    return 'Hello, ' + name",
    ),
    ("p_code", "What does `git stash` do?", "Explain what `git stash` does."),
    (
        "p_code",
        "Write a SQL query to get the 10 most recent orders from the orders table.",
        "SQL query that fetches the ten most recent orders from the orders table, please.",
    ),
    (
        "p_code",
        "def f(x):\n    return x*2\n\nWhat does f(3) return?",
        "def f(x):\n    return x * 2\n\nWhat does f(3) return?",
    ),
    ("p_code", "Explain what this does: ls -la | grep '^d'", "What does ls -la | grep '^d' do?"),
    # numbers written differently
    ("p_number_words", "What is 1,000,000 divided by 4?", "What is 1000000 divided by 4?"),
    ("p_number_words", "What is 25% of 200?", "What is twenty-five percent of 200?"),
    ("p_number_words", "How many days are in 2 weeks?", "How many days are in two weeks?"),
    (
        "p_number_words",
        "How many minutes are in 3.5 hours?",
        "How many minutes are in three and a half hours?",
    ),
    (
        "p_number_words",
        "Name 3 famous paintings by Claude Monet.",
        "Name three famous paintings by Claude Monet.",
    ),
    (
        "p_number_words",
        "What happened in the year 1066 in England?",
        "What happened in England in 1066?",
    ),
    # abbreviations and symbols spelled out
    (
        "p_abbreviation",
        "Convert 100 °F to °C.",
        "Convert 100 degrees Fahrenheit to degrees Celsius.",
    ),
    ("p_abbreviation", "What is 10 km in miles?", "What is 10 kilometers in miles?"),
    ("p_abbreviation", "How much is 5 kg in lb?", "How much is 5 kilograms in pounds?"),
    (
        "p_abbreviation",
        "What is the capital of the USA?",
        "What is the capital of the United States of America?",
    ),
    (
        "p_abbreviation",
        "How does JS handle async code?",
        "How does JavaScript handle asynchronous code?",
    ),
    ("p_abbreviation", "What's the population of NYC?", "What's the population of New York City?"),
    ("p_abbreviation", "What does a DB index do?", "What does a database index do?"),
    # Unicode variants of the same characters
    (
        "p_unicode",
        "What does ‘idempotent’ mean for REST APIs?",
        "What does 'idempotent' mean for REST APIs?",
    ),
    ("p_unicode", "Explain the CAP theorem — briefly.", "Explain the CAP theorem - briefly."),
    (
        "p_unicode",
        "What is a\u00a0monad in functional programming?",
        "What is a monad in functional programming?",
    ),
    (
        "p_unicode",
        "What comes next in the sequence 2, 4, 8, 16…?",
        "What comes next in the sequence 2, 4, 8, 16...?",
    ),
    (
        "p_unicode",
        "Is the word “naive” spelled with a diaeresis in English?",
        'Is the word "naive" spelled with a diaeresis in English?',
    ),
]

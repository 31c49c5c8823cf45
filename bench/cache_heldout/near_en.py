# ruff: noqa: E501, RUF001
# Hand-written prompt pairs, one a line; non-Latin and look-alike characters on purpose.
"""English near misses: B needs a different answer than A. (kind, a, b)"""

NEAR_EN = [
    # roles / order swapped
    (
        "nm_role_swap",
        "Translate the word 'once' from English to Spanish.",
        "Translate the word 'once' from Spanish to English.",
    ),
    (
        "nm_role_swap",
        "Translate 'actual' from English to Spanish.",
        "Translate 'actual' from Spanish to English.",
    ),
    (
        "nm_role_swap",
        "Give me driving directions from Boston to New York.",
        "Give me driving directions from New York to Boston.",
    ),
    ("nm_role_swap", "Does smoking cause lung cancer?", "Does lung cancer cause smoking?"),
    ("nm_role_swap", "Is every square a rectangle?", "Is every rectangle a square?"),
    (
        "nm_role_swap",
        "Write a Python function that converts a dict to a JSON string.",
        "Write a Python function that converts a JSON string to a dict.",
    ),
    (
        "nm_role_swap",
        "What is today's exchange rate from USD to EUR?",
        "What is today's exchange rate from EUR to USD?",
    ),
    ("nm_role_swap", "Who did Brutus betray?", "Who betrayed Brutus?"),
    ("nm_role_swap", "Subtract 7 from 20.", "Subtract 20 from 7."),
    ("nm_role_swap", "Divide 10 by 4.", "Divide 4 by 10."),
    ("nm_role_swap", "Is HTTP built on top of TCP?", "Is TCP built on top of HTTP?"),
    (
        "nm_role_swap",
        "Write a SQL query that lists customers who have no orders.",
        "Write a SQL query that lists orders that have no customer.",
    ),
    ("nm_role_swap", "What is my father's sister to me?", "What am I to my father's sister?"),
    (
        "nm_role_swap",
        "Write a regex that matches strings starting with 'abc' and ending with 'xyz'.",
        "Write a regex that matches strings starting with 'xyz' and ending with 'abc'.",
    ),
    (
        "nm_role_swap",
        "In pandas, rename the column 'price' to 'cost'.",
        "In pandas, rename the column 'cost' to 'price'.",
    ),
    (
        "nm_role_swap",
        "Give me the shell command to copy a.txt to b.txt.",
        "Give me the shell command to copy b.txt to a.txt.",
    ),
    (
        "nm_role_swap",
        "How do I merge the branch feature into main with git?",
        "How do I merge the branch main into feature with git?",
    ),
    ("nm_role_swap", "Does the Earth orbit the Sun?", "Does the Sun orbit the Earth?"),
    (
        "nm_role_swap",
        "Did Germany beat Brazil 7-1 at the 2014 World Cup?",
        "Did Brazil beat Germany 7-1 at the 2014 World Cup?",
    ),
    (
        "nm_role_swap",
        "Write a Python function that returns True if a is divisible by b.",
        "Write a Python function that returns True if b is divisible by a.",
    ),
    (
        "nm_role_swap",
        "Sort the employees table by department, then by salary.",
        "Sort the employees table by salary, then by department.",
    ),
    (
        "nm_role_swap",
        "Is Python faster than C for tight numeric loops?",
        "Is C faster than Python for tight numeric loops?",
    ),
    # units and conversion direction
    ("nm_unit_direction", "Convert 100 °F to °C.", "Convert 100 °C to °F."),
    ("nm_unit_direction", "How many miles is 42 km?", "How many km is 42 miles?"),
    ("nm_unit_direction", "Convert 5 kg to pounds.", "Convert 5 pounds to kg."),
    ("nm_unit_direction", "How many meters are 3 feet?", "How many feet are 3 meters?"),
    ("nm_unit_direction", "Convert 12 inches to centimeters.", "Convert 12 centimeters to inches."),
    ("nm_unit_direction", "Convert 2 liters to US gallons.", "Convert 2 US gallons to liters."),
    ("nm_unit_direction", "What is 60 mph in km/h?", "What is 60 km/h in mph?"),
    (
        "nm_unit_direction",
        "Write a Python function that converts Celsius to Fahrenheit.",
        "Write a Python function that converts Fahrenheit to Celsius.",
    ),
    ("nm_unit_direction", "Convert 90 minutes to hours.", "Convert 90 hours to minutes."),
    ("nm_unit_direction", "Convert 30 psi to bar.", "Convert 30 bar to psi."),
    ("nm_unit_direction", "How many kJ are 500 kcal?", "How many kcal are 500 kJ?"),
    ("nm_unit_direction", "Convert 45 degrees to radians.", "Convert 45 radians to degrees."),
    (
        "nm_unit_direction",
        "Convert 255 from decimal to hexadecimal.",
        "Convert 255 from hexadecimal to decimal.",
    ),
    ("nm_unit_direction", "How many grams is 8 oz?", "How many oz is 8 grams?"),
    (
        "nm_unit_direction",
        "Convert 1 nautical mile to kilometers.",
        "Convert 1 kilometer to nautical miles.",
    ),
    # quantifiers
    ("nm_quantifier", "Are all birds able to fly?", "Are some birds able to fly?"),
    (
        "nm_quantifier",
        "Write a SQL query returning customers who bought all products in category 5.",
        "Write a SQL query returning customers who bought any product in category 5.",
    ),
    (
        "nm_quantifier",
        "Write a Python function that returns True if all elements of a list are even.",
        "Write a Python function that returns True if any element of a list is even.",
    ),
    (
        "nm_quantifier",
        "Delete all rows where status is 'inactive'.",
        "Delete the first row where status is 'inactive'.",
    ),
    ("nm_quantifier", "Are all prime numbers odd?", "Are most prime numbers odd?"),
    (
        "nm_quantifier",
        "With grep, show every line of app.log that contains 'error'.",
        "With grep, show only the first line of app.log that contains 'error'.",
    ),
    (
        "nm_quantifier",
        "With sed, replace every occurrence of 'foo' with 'bar' in each line.",
        "With sed, replace the first occurrence of 'foo' with 'bar' in each line.",
    ),
    (
        "nm_quantifier",
        "Is at least one of 2, 9 and 15 a prime number?",
        "Are all of 2, 9 and 15 prime numbers?",
    ),
    (
        "nm_quantifier",
        "List a few countries that border Germany.",
        "List all the countries that border Germany.",
    ),
    (
        "nm_quantifier",
        "Does every US state have a state income tax?",
        "Does any US state have a state income tax?",
    ),
    # prepositions and other function words
    (
        "nm_preposition",
        "What happened in Europe right before World War I?",
        "What happened in Europe right after World War I?",
    ),
    (
        "nm_preposition",
        "Give me a pancake recipe with eggs.",
        "Give me a pancake recipe without eggs.",
    ),
    (
        "nm_preposition",
        "Show a Python example of reading a file with a context manager.",
        "Show a Python example of reading a file without a context manager.",
    ),
    (
        "nm_preposition",
        "Write code to insert a new node before the head of a singly linked list.",
        "Write code to insert a new node after the head of a singly linked list.",
    ),
    (
        "nm_preposition",
        "What letter comes after K in the English alphabet?",
        "What letter comes before K in the English alphabet?",
    ),
    (
        "nm_preposition",
        "Is it okay to drink coffee before a fasting blood test?",
        "Is it okay to drink coffee after a fasting blood test?",
    ),
    (
        "nm_preposition",
        "Write a bash loop over the files in this folder with the .log extension.",
        "Write a bash loop over the files in this folder without the .log extension.",
    ),
    (
        "nm_preposition",
        "Which digit is above 5 on a phone keypad?",
        "Which digit is below 5 on a phone keypad?",
    ),
    (
        "nm_preposition",
        "How do I clone a git repository with its submodules?",
        "How do I clone a git repository without its submodules?",
    ),
    (
        "nm_preposition",
        "How many calories are in a cup of black coffee with sugar?",
        "How many calories are in a cup of black coffee without sugar?",
    ),
    (
        "nm_preposition",
        "What is the day after Thanksgiving called in the US?",
        "What is the day before Thanksgiving called in the US?",
    ),
    (
        "nm_preposition",
        "What is the date 90 days after 2025-01-15?",
        "What is the date 90 days before 2025-01-15?",
    ),
    # modals
    (
        "nm_modal",
        "Can I use a semicolon at the end of a line in Python?",
        "Must I use a semicolon at the end of a line in Python?",
    ),
    ("nm_modal", "Can a JSON object key be a number?", "Must a JSON object key be a string?"),
    (
        "nm_modal",
        "Can I pack a lithium power bank in checked luggage?",
        "Must I pack a lithium power bank in carry-on luggage?",
    ),
    (
        "nm_modal",
        "Can a foreign key column contain NULL values?",
        "Must a foreign key column contain NULL values?",
    ),
    (
        "nm_modal",
        "Which fields of the US W-4 form can be left empty?",
        "Which fields of the US W-4 form must be filled in?",
    ),
    (
        "nm_modal",
        "In standard SQL, which columns must appear in the GROUP BY clause?",
        "In standard SQL, which columns can appear in the GROUP BY clause?",
    ),
    # conjunctions
    (
        "nm_conjunction",
        "Write a SQL query for users whose age is over 30 and whose country is France.",
        "Write a SQL query for users whose age is over 30 or whose country is France.",
    ),
    (
        "nm_conjunction",
        "Write a regex that matches lines containing both 'cat' and 'dog'.",
        "Write a regex that matches lines containing either 'cat' or 'dog'.",
    ),
    (
        "nm_conjunction",
        "What does True and False evaluate to in Python?",
        "What does True or False evaluate to in Python?",
    ),
    (
        "nm_conjunction",
        "List films directed by Christopher Nolan and starring Michael Caine.",
        "List films directed by Christopher Nolan or starring Michael Caine.",
    ),
    (
        "nm_conjunction",
        "In pandas, filter rows where x > 5 and y < 3.",
        "In pandas, filter rows where x > 5 or y < 3.",
    ),
    ("nm_conjunction", "Is 9 divisible by 3 and 2?", "Is 9 divisible by 3 or 2?"),
    # pronouns
    (
        "nm_pronoun",
        "Translate into French: 'He is a doctor.'",
        "Translate into French: 'She is a doctor.'",
    ),
    (
        "nm_pronoun",
        "Translate into Spanish: 'I love him.'",
        "Translate into Spanish: 'I love her.'",
    ),
    (
        "nm_pronoun",
        "Draft a short email congratulating my manager because he has been promoted.",
        "Draft a short email congratulating my manager because she has been promoted.",
    ),
    (
        "nm_pronoun",
        "Conjugate the French verb 'être' for 'nous' in the present tense.",
        "Conjugate the French verb 'être' for 'vous' in the present tense.",
    ),
    ("nm_pronoun", "Translate 'their car' into German.", "Translate 'our car' into German."),
    (
        "nm_pronoun",
        "Translate into Japanese: 'Is this your umbrella?'",
        "Translate into Japanese: 'Is this his umbrella?'",
    ),
    (
        "nm_pronoun",
        "Rewrite this in the passive voice: 'She fixed the bug.'",
        "Rewrite this in the passive voice: 'They fixed the bug.'",
    ),
    # code
    (
        "nm_code",
        "What does this print?\nfor i in range(3):\n    x = i * 2\nprint(x)",
        "What does this print?\nfor i in range(3):\n    x = i * 2\n    print(x)",
    ),
    (
        "nm_code",
        "Is this function correct?\ndef first_even(xs):\n    for x in xs:\n        if x % 2 == 0:\n            return x\n    return None",
        "Is this function correct?\ndef first_even(xs):\n    for x in xs:\n        if x % 2 == 0:\n            return x\n        return None",
    ),
    (
        "nm_code",
        "What does this Python code print?\nx = 5\nX = 10\nprint(x)",
        "What does this Python code print?\nx = 5\nX = 10\nprint(X)",
    ),
    (
        "nm_code",
        "What does this log?\nlet count = 1;\nlet Count = 2;\nconsole.log(count + 1);",
        "What does this log?\nlet count = 1;\nlet Count = 2;\nconsole.log(Count + 1);",
    ),
    (
        "nm_code",
        "What does print(7 // 2) output in Python?",
        "What does print(7 / 2) output in Python?",
    ),
    ("nm_code", "What is the value of 5 ** 2 in Python?", "What is the value of 5 ^ 2 in Python?"),
    ("nm_code", "In JavaScript, what is '5' + 3?", "In JavaScript, what is '5' - 3?"),
    (
        "nm_code",
        "In JavaScript, is null == undefined true?",
        "In JavaScript, is null === undefined true?",
    ),
    ("nm_code", "What does 'abc'[1] return in Python?", "What does 'abc'[-1] return in Python?"),
    (
        "nm_code",
        "List the values produced by range(1, 10, 2) in Python.",
        "List the values produced by range(1, 10, 3) in Python.",
    ),
    (
        "nm_code",
        "Is there a bug in this C loop?\nfor (int i = 0; i <= n; i++) sum += a[i];",
        "Is there a bug in this C loop?\nfor (int i = 0; i < n; i++) sum += a[i];",
    ),
    (
        "nm_code",
        "What does `git reset --soft HEAD~1` do?",
        "What does `git reset --hard HEAD~1` do?",
    ),
    (
        "nm_code",
        "What permissions does `chmod 644 notes.txt` set?",
        "What permissions does `chmod 755 notes.txt` set?",
    ),
    (
        "nm_code",
        "What does `ls -a` list that plain `ls` doesn't?",
        "What does `ls -A` list that plain `ls` doesn't?",
    ),
    ("nm_code", "What does the regex \\d+ match?", "What does the regex \\D+ match?"),
    ("nm_code", "What does the -i flag of grep do?", "What does the -I flag of grep do?"),
    ("nm_code", "What is [1, 2, 3][1:] in Python?", "What is [1, 2, 3][:1] in Python?"),
    (
        "nm_code",
        "Rewrite this query with a JOIN: SELECT * FROM a WHERE id IN (SELECT a_id FROM b)",
        "Rewrite this query with a JOIN: SELECT * FROM a WHERE id NOT IN (SELECT a_id FROM b)",
    ),
    (
        "nm_code",
        "What does console.log([10, 1, 2].sort()) print in JavaScript?",
        "What does console.log([10, 1, 2].sort((a, b) => a - b)) print in JavaScript?",
    ),
    (
        "nm_code",
        "What does this print?\nx = []\ny = x\ny.append(1)\nprint(x)",
        "What does this print?\nx = []\ny = x.copy()\ny.append(1)\nprint(x)",
    ),
    ("nm_code", "What is bool('False') in Python?", "What is bool('') in Python?"),
    (
        "nm_code",
        "Does 0.1 + 0.2 == 0.3 evaluate to True in Python?",
        "Does 0.5 + 0.25 == 0.75 evaluate to True in Python?",
    ),
    (
        "nm_code",
        "Does this Rust compile?\nlet x = 5;\nx = 6;",
        "Does this Rust compile?\nlet mut x = 5;\nx = 6;",
    ),
    (
        "nm_code",
        "In JavaScript, can a variable declared with const be reassigned?",
        "In JavaScript, can a variable declared with let be reassigned?",
    ),
    (
        "nm_code",
        "What does this return?\ndef f(n):\n    total = 0\n    for i in range(n):\n        total += i\n    return total\nf(4)",
        "What does this return?\ndef f(n):\n    total = 0\n    for i in range(n):\n        total += i\n        return total\nf(4)",
    ),
    (
        "nm_code",
        "What is the output?\nconst a = [1, 2, 3];\nconsole.log(a.length > 2 ? 'big' : 'small');",
        "What is the output?\nconst a = [1, 2, 3];\nconsole.log(a.length < 2 ? 'big' : 'small');",
    ),
    # case-only differences carrying meaning
    ("nm_case_meaning", "What is the molar mass of CO?", "What is the molar mass of Co?"),
    (
        "nm_case_meaning",
        "How many seconds does it take to download a 100 Mb file at 10 MB/s?",
        "How many seconds does it take to download a 100 MB file at 10 MB/s?",
    ),
    ("nm_case_meaning", "Convert 5 mW to watts.", "Convert 5 MW to watts."),
    ("nm_case_meaning", "Translate 'US' into French.", "Translate 'us' into French."),
    (
        "nm_case_meaning",
        "What does 'Ms' mean before a woman's name?",
        "What does 'ms' mean after a number?",
    ),
    ("nm_case_meaning", "How many MB is 3 Gb?", "How many MB is 3 GB?"),
    ("nm_case_meaning", "What is NO in chemistry?", "What is No in chemistry?"),
    ("nm_case_meaning", "How long is 1 mm?", "How long is 1 Mm?"),
    (
        "nm_case_meaning",
        "Tell me about the history of Turkey.",
        "Tell me about the history of turkey.",
    ),
    ("nm_case_meaning", "Define 'March'.", "Define 'march'."),
    ("nm_case_meaning", "What is SI?", "What is Si?"),
    ("nm_case_meaning", "Is HF dangerous to touch?", "Is Hf dangerous to touch?"),
    ("nm_case_meaning", "Convert 1 Mbps to kbps.", "Convert 1 MBps to kbps."),
    ("nm_case_meaning", "Convert 1 Mg to kilograms.", "Convert 1 mg to kilograms."),
    ("nm_case_meaning", "What is 1 Ms in seconds?", "What is 1 ms in seconds?"),
    # JSON schema / structured output
    (
        "nm_json_schema",
        "Extract the contact as JSON with fields name (string) and email (string): 'Reach Jane Roe at jane@roe.io or +1 555 0100.'",
        "Extract the contact as JSON with fields name (string), email (string) and phone (string, required): 'Reach Jane Roe at jane@roe.io or +1 555 0100.'",
    ),
    (
        "nm_json_schema",
        "Return a JSON object with 'age' as an integer for: 'Tom is thirty-two years old.'",
        "Return a JSON object with 'age' as a string for: 'Tom is thirty-two years old.'",
    ),
    (
        "nm_json_schema",
        "Output these colors as a JSON array: red, green, blue.",
        "Output these colors as a JSON object mapping each color to its position: red, green, blue.",
    ),
    (
        "nm_json_schema",
        "Write a JSON Schema for a user object with required fields id and email.",
        "Write a JSON Schema for a user object with required fields id, email and created_at.",
    ),
    (
        "nm_json_schema",
        "Is the claim 'the Nile is in Asia' correct? Reply as JSON: {\"ok\": boolean}",
        'Is the claim \'the Nile is in Asia\' correct? Reply as JSON: {"ok": "yes" or "no"}',
    ),
    (
        "nm_json_schema",
        "Extract the meeting date from 'See you on March 3rd, 2025' as JSON {\"date\": ISO 8601 string}.",
        "Extract the meeting date from 'See you on March 3rd, 2025' as JSON {\"date\": Unix timestamp integer}.",
    ),
    (
        "nm_json_schema",
        "Extract the price from 'Only $19.99 today!' as JSON where price is a number.",
        "Extract the price from 'Only $19.99 today!' as JSON where price is a string including the currency symbol.",
    ),
    (
        "nm_json_schema",
        'Extract tags from \'Fast, cheap, reliable, open-source hosting\' matching this schema: {"type":"object","properties":{"tags":{"type":"array","items":{"type":"string"}}},"required":["tags"]}',
        'Extract tags from \'Fast, cheap, reliable, open-source hosting\' matching this schema: {"type":"object","properties":{"tags":{"type":"array","items":{"type":"string"},"maxItems":2}},"required":["tags"]}',
    ),
    (
        "nm_json_schema",
        'Classify the ticket \'Waiting for the customer to reply\' as JSON {"status": "open" | "closed"}.',
        'Classify the ticket \'Waiting for the customer to reply\' as JSON {"status": "open" | "closed" | "pending"}.',
    ),
    (
        "nm_json_schema",
        'Convert {"first_name": "Ann", "last_name": "Lee"} to JSON with snake_case keys.',
        'Convert {"first_name": "Ann", "last_name": "Lee"} to JSON with camelCase keys.',
    ),
    (
        "nm_json_schema",
        "Parse '2 kg flour, 3 eggs' into a JSON array of objects with name and qty.",
        "Parse '2 kg flour, 3 eggs' into a JSON array of objects with name, qty and unit.",
    ),
    (
        "nm_json_schema",
        "Extract the person from 'John Smith, born 1980' as JSON; middle_name is a nullable string.",
        "Extract the person from 'John Smith, born 1980' as JSON; middle_name is a required non-empty string.",
    ),
    # entities
    ("nm_entity", "What is the capital of Australia?", "What is the capital of Austria?"),
    ("nm_entity", "Who founded Microsoft?", "Who founded Apple?"),
    (
        "nm_entity",
        "What time zone is Portland, Oregon in?",
        "What time zone is Portland, Maine in?",
    ),
    ("nm_entity", "How tall is the Eiffel Tower?", "How tall is the Tokyo Tower?"),
    ("nm_entity", "What year did Sweden join the EU?", "What year did Switzerland join the EU?"),
    ("nm_entity", "What is the default port of PostgreSQL?", "What is the default port of MySQL?"),
    ("nm_entity", "Who wrote 'Crime and Punishment'?", "Who wrote 'War and Peace'?"),
    (
        "nm_entity",
        "What is the maximum data transfer speed of the iPhone 15's USB-C port?",
        "What is the maximum data transfer speed of the iPhone 15 Pro's USB-C port?",
    ),
    (
        "nm_entity",
        "What is the boiling point of ethanol?",
        "What is the boiling point of methanol?",
    ),
    ("nm_entity", "Who was the first president of Kenya?", "Who was the first president of Ghana?"),
    ("nm_entity", "What currency does Sweden use?", "What currency does Finland use?"),
    ("nm_entity", "Which river flows through Vienna?", "Which river flows through Prague?"),
    ("nm_entity", "How many moons does Mars have?", "How many moons does Neptune have?"),
    (
        "nm_entity",
        "Under which license is React released?",
        "Under which license is the Linux kernel released?",
    ),
    (
        "nm_entity",
        "What is the English name of the city 北京?",
        "What is the English name of the city 南京?",
    ),
    (
        "nm_entity",
        "Transliterate the city name Москва into Latin letters.",
        "Transliterate the city name Минск into Latin letters.",
    ),
    ("nm_entity", "What is the population of 東京?", "What is the population of 京都?"),
    (
        "nm_entity",
        "Translate the Korean city name 서울 into English.",
        "Translate the Korean city name 부산 into English.",
    ),
    (
        "nm_entity",
        "Who is the author of the Python library requests?",
        "Who is the author of the Python library flask?",
    ),
    (
        "nm_entity",
        "What's the main ingredient of hummus?",
        "What's the main ingredient of guacamole?",
    ),
    # numbers
    ("nm_number", "What is 17 × 24?", "What is 17 × 42?"),
    ("nm_number", "Is 221 a prime number?", "Is 223 a prime number?"),
    ("nm_number", "Round 3.14159 to 2 decimal places.", "Round 3.14159 to 3 decimal places."),
    (
        "nm_number",
        "Summarize in 3 bullet points: The city council approved a new bike lane network, raised parking fees downtown, extended bus hours to midnight, planted 2,000 trees and opened two public libraries.",
        "Summarize in 5 bullet points: The city council approved a new bike lane network, raised parking fees downtown, extended bus hours to midnight, planted 2,000 trees and opened two public libraries.",
    ),
    ("nm_number", "What's 15% of 80?", "What's 51% of 80?"),
    ("nm_number", "How many days are in 3 weeks?", "How many days are in 13 weeks?"),
    ("nm_number", "List the first 10 Fibonacci numbers.", "List the first 12 Fibonacci numbers."),
    ("nm_number", "What is the square root of 144?", "What is the square root of 169?"),
    (
        "nm_number",
        "Write a Python function that returns the top 3 scores from a list.",
        "Write a Python function that returns the top 5 scores from a list.",
    ),
    ("nm_number", "What does HTTP status 401 mean?", "What does HTTP status 403 mean?"),
    (
        "nm_number",
        "Which protocol uses port 22 by default?",
        "Which protocol uses port 25 by default?",
    ),
    ("nm_number", "What is 2 to the power of 10?", "What is 2 to the power of 16?"),
    ("nm_number", "How many bits are in 4 bytes?", "How many bits are in 6 bytes?"),
    ("nm_number", "Which element has atomic number 6?", "Which element has atomic number 8?"),
    (
        "nm_number",
        "What is the monthly payment on a $200,000 mortgage at 5% over 30 years?",
        "What is the monthly payment on a $200,000 mortgage at 6% over 30 years?",
    ),
    (
        "nm_number",
        "What is 1.5 million written in digits?",
        "What is 1.5 billion written in digits?",
    ),
    # dates
    ("nm_date", "What day of the week was July 4, 1976?", "What day of the week was July 4, 1977?"),
    ("nm_date", "Who won the FIFA World Cup in 2014?", "Who won the FIFA World Cup in 2018?"),
    (
        "nm_date",
        "How many days are there between 2024-01-01 and 2024-03-01?",
        "How many days are there between 2023-01-01 and 2023-03-01?",
    ),
    ("nm_date", "Is 2100 a leap year?", "Is 2000 a leap year?"),
    (
        "nm_date",
        "What happened in Germany on 9 November 1989?",
        "What happened in Germany on 9 November 1938?",
    ),
    (
        "nm_date",
        "Convert the US-format date 03/04/2025 to ISO 8601.",
        "Convert the UK-format date 03/04/2025 to ISO 8601.",
    ),
    (
        "nm_date",
        "What was the US federal minimum wage in 2005?",
        "What was the US federal minimum wage in 2010?",
    ),
    (
        "nm_date",
        "How old on 1 January 2020 was someone born in March 1990?",
        "How old on 1 January 2020 was someone born in March 1989?",
    ),
    ("nm_date", "On what date is Easter Sunday in 2025?", "On what date is Easter Sunday in 2026?"),
    (
        "nm_date",
        "Which Python version was released in October 2019?",
        "Which Python version was released in October 2021?",
    ),
    # negation
    (
        "nm_negation",
        "Which planets in the solar system have rings?",
        "Which planets in the solar system don't have rings?",
    ),
    (
        "nm_negation",
        "List the EU countries that use the euro.",
        "List the EU countries that do not use the euro.",
    ),
    (
        "nm_negation",
        "Write a SQL query for users who have verified their email.",
        "Write a SQL query for users who have not verified their email.",
    ),
    ("nm_negation", "Is it safe to eat raw chicken?", "Is it unsafe to eat raw chicken?"),
    (
        "nm_negation",
        "Write a regex that matches lines containing 'TODO'.",
        "Write a regex that matches lines not containing 'TODO'.",
    ),
    (
        "nm_negation",
        "Give me reasons to use microservices.",
        "Give me reasons not to use microservices.",
    ),
    (
        "nm_negation",
        "Which of these numbers are prime: 4, 7, 9, 11?",
        "Which of these numbers are not prime: 4, 7, 9, 11?",
    ),
    (
        "nm_negation",
        "Is this statement true: 'Water boils at 100 °C at sea level.'",
        "Is this statement true: 'Water never boils at 100 °C at sea level.'",
    ),
    (
        "nm_negation",
        "How do I list the files that are tracked by git?",
        "How do I list the files that are not tracked by git?",
    ),
    (
        "nm_negation",
        "Which of these are mammals: dolphin, shark, bat, penguin?",
        "Which of these are not mammals: dolphin, shark, bat, penguin?",
    ),
    (
        "nm_negation",
        "Translate 'I like coffee' into Italian.",
        "Translate 'I don't like coffee' into Italian.",
    ),
    (
        "nm_negation",
        "Is the number 0 considered even?",
        "Is the number 0 considered neither even nor odd?",
    ),
    # comparatives / superlatives
    (
        "nm_comparative",
        "Which is the largest planet in the solar system?",
        "Which is the smallest planet in the solar system?",
    ),
    (
        "nm_comparative",
        "What is the highest mountain in Europe?",
        "What is the second highest mountain in Europe?",
    ),
    (
        "nm_comparative",
        "Which is heavier, a liter of water or a liter of olive oil?",
        "Which is lighter, a liter of water or a liter of olive oil?",
    ),
    (
        "nm_comparative",
        "What's the most populous country in South America?",
        "What's the least populous country in South America?",
    ),
    (
        "nm_comparative",
        "Which has the better worst-case time complexity, quicksort or mergesort?",
        "Which has the worse worst-case time complexity, quicksort or mergesort?",
    ),
    (
        "nm_comparative",
        "Write a SQL query to find the employee with the highest salary.",
        "Write a SQL query to find the employee with the lowest salary.",
    ),
    ("nm_comparative", "Is a kilometer longer than a mile?", "Is a kilometer shorter than a mile?"),
    (
        "nm_comparative",
        "What is the coldest month in Sydney?",
        "What is the warmest month in Sydney?",
    ),
    (
        "nm_comparative",
        "Write a Python one-liner that returns the max of a list.",
        "Write a Python one-liner that returns the min of a list.",
    ),
    (
        "nm_comparative",
        "Which S3 storage class is cheaper per GB stored, Standard or Glacier Deep Archive?",
        "Which S3 storage class is more expensive per GB stored, Standard or Glacier Deep Archive?",
    ),
    # singular / plural
    (
        "nm_plural",
        "Write a Python function that returns the index of the maximum value in a list.",
        "Write a Python function that returns the indices of all maximum values in a list.",
    ),
    ("nm_plural", "Give me an example of a prime number.", "Give me examples of prime numbers."),
    ("nm_plural", "What is the German word for 'book'?", "What is the German word for 'books'?"),
    ("nm_plural", "Translate 'the child' into French.", "Translate 'the children' into French."),
    (
        "nm_plural",
        "Give me the shell command to delete the .log file in this directory.",
        "Give me the shell command to delete the .log files in this directory.",
    ),
    ("nm_plural", "What is the Latin word for 'star'?", "What is the Latin word for 'stars'?"),
    (
        "nm_plural",
        "Which set method removes an element in Python?",
        "Which set method removes several elements in Python?",
    ),
    # time zones
    (
        "nm_timezone",
        "It's 09:00 UTC. What time is it in New York?",
        "It's 09:00 in New York. What time is it in UTC?",
    ),
    ("nm_timezone", "What is the UTC offset of India?", "What is the UTC offset of Nepal?"),
    ("nm_timezone", "What time is 3 pm EST in Tokyo?", "What time is 3 pm PST in Tokyo?"),
    (
        "nm_timezone",
        "Does Arizona observe daylight saving time?",
        "Does Indiana observe daylight saving time?",
    ),
    (
        "nm_timezone",
        "Convert 2025-06-01T12:00:00Z to Europe/Berlin local time.",
        "Convert 2025-12-01T12:00:00Z to Europe/Berlin local time.",
    ),
    ("nm_timezone", "Convert 14:00 CET to PST.", "Convert 14:00 CET to PDT."),
    # versions
    (
        "nm_version",
        "How do I print 'hello world' in Python 2?",
        "How do I print 'hello world' in Python 3?",
    ),
    ("nm_version", "What's new in Java 17?", "What's new in Java 21?"),
    (
        "nm_version",
        "Is async/await supported natively in Node.js 6?",
        "Is async/await supported natively in Node.js 8?",
    ),
    (
        "nm_version",
        "Is dict insertion order guaranteed in Python 3.7?",
        "Is dict insertion order guaranteed in Python 3.5?",
    ),
    (
        "nm_version",
        "What is the default Python version in Ubuntu 20.04?",
        "What is the default Python version in Ubuntu 22.04?",
    ),
    (
        "nm_version",
        "Does Python 3.9 support the match statement?",
        "Does Python 3.10 support the match statement?",
    ),
    (
        "nm_version",
        "Can I use `var` for local variable type inference in Java 8?",
        "Can I use `var` for local variable type inference in Java 10?",
    ),
    (
        "nm_version",
        "Does HTTP/1.1 support multiplexing requests over one connection?",
        "Does HTTP/2 support multiplexing requests over one connection?",
    ),
    # currency
    ("nm_currency", "Convert 100 USD to EUR.", "Convert 100 USD to GBP."),
    ("nm_currency", "How much is 1000 JPY in USD?", "How much is 1000 CNY in USD?"),
    (
        "nm_currency",
        "What is the symbol of the Indian rupee?",
        "What is the symbol of the Pakistani rupee?",
    ),
    (
        "nm_currency",
        "Format 1234.5 as a price in euros for a German website.",
        "Format 1234.5 as a price in US dollars for an American website.",
    ),
    ("nm_currency", "Is 10 AUD worth more than 10 USD?", "Is 10 USD worth more than 10 AUD?"),
    ("nm_currency", "How many satoshis are in one bitcoin?", "How many wei are in one ether?"),
    # output format / constraints
    (
        "nm_format",
        "List the planets of the solar system as a comma-separated line.",
        "List the planets of the solar system as a numbered list.",
    ),
    ("nm_format", "Explain recursion in one sentence.", "Explain recursion in one paragraph."),
    (
        "nm_format",
        "Give the three largest US states by area as a Markdown table.",
        "Give the three largest US states by area as CSV.",
    ),
    (
        "nm_format",
        "Write a function that debounces another function, in TypeScript.",
        "Write a function that debounces another function, in Python.",
    ),
    (
        "nm_format",
        "Answer with just the number: how many legs does a spider have?",
        "Answer in a full sentence: how many legs does a spider have?",
    ),
    (
        "nm_format",
        "Write a PostgreSQL query that returns the current date.",
        "Write a SQL Server query that returns the current date.",
    ),
    (
        "nm_format",
        "Write the date 5 March 2025 in ISO 8601 format.",
        "Write the date 5 March 2025 in US format.",
    ),
    (
        "nm_format",
        "Summarize in English: 'Le conseil a voté pour fermer la gare le dimanche.'",
        "Summarize in German: 'Le conseil a voté pour fermer la gare le dimanche.'",
    ),
    # target language of a translation
    (
        "nm_target_language",
        "Translate 'good night' into Italian.",
        "Translate 'good night' into Portuguese.",
    ),
    (
        "nm_target_language",
        "Translate 'thank you' into Japanese.",
        "Translate 'thank you' into Korean.",
    ),
    (
        "nm_target_language",
        "How do you say 'where is the train station' in German?",
        "How do you say 'where is the train station' in Dutch?",
    ),
    (
        "nm_target_language",
        "Translate the error message 'File not found' into Russian.",
        "Translate the error message 'File not found' into Ukrainian.",
    ),
    ("nm_target_language", "Translate 'cheers' into Hindi.", "Translate 'cheers' into Urdu."),
    (
        "nm_target_language",
        "Write 'happy birthday' in simplified Chinese characters.",
        "Write 'happy birthday' in traditional Chinese characters.",
    ),
    # antonym verbs and adjectives
    ("nm_antonym", "How do I enable SSH on Ubuntu?", "How do I disable SSH on Ubuntu?"),
    ("nm_antonym", "How do I encrypt a file with gpg?", "How do I decrypt a file with gpg?"),
    ("nm_antonym", "How do I zip a folder on Linux?", "How do I unzip a folder on Linux?"),
    (
        "nm_antonym",
        "How do I increase the swap size on Ubuntu?",
        "How do I decrease the swap size on Ubuntu?",
    ),
    (
        "nm_antonym",
        "How do I mount a USB drive from the Linux command line?",
        "How do I unmount a USB drive from the Linux command line?",
    ),
    (
        "nm_antonym",
        "Write a Python function to encode a string in base64.",
        "Write a Python function to decode a string from base64.",
    ),
    (
        "nm_antonym",
        "Sort this list in ascending order: 5, 2, 9, 1.",
        "Sort this list in descending order: 5, 2, 9, 1.",
    ),
    (
        "nm_antonym",
        "How do I install a package with pip?",
        "How do I uninstall a package with pip?",
    ),
    ("nm_antonym", "When did the Berlin Wall go up?", "When did the Berlin Wall come down?"),
    (
        "nm_antonym",
        "Write a function that serializes a Python object with pickle.",
        "Write a function that deserializes a Python object with pickle.",
    ),
    # symbols and emoji carrying the meaning (the embedder maps many to one unknown token)
    (
        "nm_symbol",
        "What does 👍 mean as a reply in Slack?",
        "What does 👎 mean as a reply in Slack?",
    ),
    ("nm_symbol", "Is 5 ≥ 3 true?", "Is 5 ≤ 3 true?"),
    (
        "nm_symbol",
        "What does the 🔥 emoji mean in a text message?",
        "What does the 💀 emoji mean in a text message?",
    ),
    ("nm_symbol", "What is the Unicode code point of ✓?", "What is the Unicode code point of ✗?"),
    (
        "nm_symbol",
        "Explain what a → b means in propositional logic.",
        "Explain what a ↔ b means in propositional logic.",
    ),
    ("nm_symbol", "What does ∀x P(x) mean?", "What does ∃x P(x) mean?"),
    (
        "nm_symbol",
        "What does the symbol ♀ stand for in biology?",
        "What does the symbol ♂ stand for in biology?",
    ),
    (
        "nm_symbol",
        "Translate this emoji sentence into English: 🐱❤️🐟",
        "Translate this emoji sentence into English: 🐶❤️🐟",
    ),
    ("nm_currency", "Convert 100 € to US dollars.", "Convert 100 £ to US dollars."),
    # punctuation, brackets and spaces carrying the meaning
    ("nm_punctuation", "Evaluate 10 / 2 * 5.", "Evaluate 10 / (2 * 5)."),
    ("nm_punctuation", "What is -2 ** 2 in Python?", "What is (-2) ** 2 in Python?"),
    (
        "nm_punctuation",
        "Which files does `rm -rf ./build` delete?",
        "Which files does `rm -rf / build` delete?",
    ),
    (
        "nm_punctuation",
        "In a regular expression, what does a.c match?",
        "In a regular expression, what does a\\.c match?",
    ),
    ("nm_punctuation", "What does `cd -` do in bash?", "What does `cd ~` do in bash?"),
    ("nm_punctuation", "Compute 5 - (-3).", "Compute 5 - 3."),
    (
        "nm_code",
        "What does this YAML parse to?\na:\n  b: 1\nc: 2",
        "What does this YAML parse to?\na:\n  b: 1\n  c: 2",
    ),
    (
        "nm_code",
        "Why does this Makefile fail?\nall:\n\tgcc main.c -o app",
        "Why does this Makefile fail?\nall:\n    gcc main.c -o app",
    ),
]
